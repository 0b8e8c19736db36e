"""Updating some sections of an existing performance report keeps the others."""

from __future__ import annotations

from lartpcbench.bench.perf import PerfSection
from lartpcbench.bench.perf.report import merge_report, render_report, split_report


def test_merge_report_keeps_other_sections():
    old = render_report([PerfSection("First", [{"value": 1}], ["first note"]),
                         PerfSection("Second", [{"value": 2}], ["second note"])], scale="full")
    merged = merge_report(old, [PerfSection("Second", [{"value": 20}], ["new note"]), PerfSection("Third", [], ["third"])],
                          ["second", "third"], scale="full")
    header, blocks = split_report(merged)
    assert header == split_report(old)[0]
    assert [title for title, _ in blocks] == ["First", "Second", "Third"]
    assert blocks[0][1] == split_report(old)[1][0][1]
    second = blocks[1][1]
    assert "20" in second
    assert "new note" in second
    assert "second note" not in second
    assert "--sections second" in second
    assert merged.count("# Performance benchmark") == 1

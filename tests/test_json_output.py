"""Every JSON squeeze-convert writes (convert's report, verify --report, inspect --json) is written
one way: valid JSON, indented, with short lists such as shapes on one line."""

from __future__ import annotations

import json

from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from cli import main
from converter.fileio import json_text

plain = (st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
         | st.text(max_size=8))
documents = st.recursive(plain, lambda inner: st.lists(inner, max_size=6)
                         | st.dictionaries(st.text(max_size=6), inner, max_size=5), max_leaves=30)


@given(documents)
def test_json_text_reads_back_as_the_same_document(document):
    assert json.loads(json_text(document)) == document


def test_infinities_and_nan_are_written_as_strict_json():
    def refuse(constant: str) -> None:
        raise ValueError(f"{constant} is not JSON")

    text = json_text({"rel_err": float("inf"), "values": [1.0, float("-inf"), float("nan")]})
    assert json.loads(text, parse_constant=refuse) == {"rel_err": None, "values": [1.0, None, None]}


def test_short_lists_stay_on_one_line_long_ones_do_not():
    text = json_text({"shape": [1, 3, 227, 227], "names": ["a", "b"], "long": list(range(40)),
                      "rows": [{"k": 1}]})
    lines = text.splitlines()
    assert ' "shape": [1, 3, 227, 227],' in lines and ' "names": ["a", "b"],' in lines
    assert ' "long": [' in lines and "  39" in lines
    assert text.startswith("{\n") and text.endswith("\n}")



def _one_line_shapes(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip().startswith('"shape": [')]


def test_reports_and_inspect_write_shapes_on_one_line(tiny, tmp_path):
    proto, weights = tiny
    runner = CliRunner()
    done = runner.invoke(main, [str(proto), "-w", str(weights), "-o", str(tmp_path / "out")])
    assert done.exit_code == 0, done.output
    report = (tmp_path / "out" / "tiny.report.json").read_text()
    assert json.loads(report)["passed"] is True
    assert '"shape": [1, 4, 6, 6],' in _one_line_shapes(report)

    done = runner.invoke(main, ["verify", str(proto), "-w", str(weights), "--report", str(tmp_path / "v.json")])
    assert done.exit_code == 0, done.output
    verified = (tmp_path / "v.json").read_text()
    assert '"shape": [1, 4, 6, 6],' in _one_line_shapes(verified)

    done = runner.invoke(main, ["inspect", str(proto), "--json"])
    assert done.exit_code == 0, done.output
    assert json.loads(done.output)["inputs"] == {"data": [1, 3, 8, 8]}
    assert '  "data": [1, 3, 8, 8]' in done.output.splitlines()

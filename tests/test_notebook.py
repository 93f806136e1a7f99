"""Reports in Jupyter (``_repr_html_``) and in a terminal (``str``, IPython's ``_repr_pretty_``)."""
import html.parser
from pathlib import Path

from compare import compare_exercise
from compare.grading.check import check_student
from reference.exercise import load_exercise

STUDENTS = Path(__file__).resolve().parent.parent / "examples" / "students"


class Cells(html.parser.HTMLParser):
    """Collects the text of every <td> and <th>, and every tag seen."""
    def __init__(self):
        super().__init__()
        self.cells, self.tags, self._in_cell = [], [], False

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        if tag in ("td", "th"):
            self._in_cell, self._text = True, ""

    def handle_endtag(self, tag):
        if tag in ("td", "th"):
            self.cells.append(self._text.strip())
            self._in_cell = False

    def handle_data(self, data):
        if self._in_cell:
            self._text += data


def parse(text: str) -> Cells:
    cells = Cells()
    cells.feed(text)
    return cells


def test_html_has_both_tables_and_the_values(chapter7):
    comparison = compare_exercise(chapter7)
    parsed = parse(comparison._repr_html_())
    assert parsed.tags.count("table") == 3  # gradients, intermediates, hand answers
    # 9 gradient headers + 31 rows of 9 cells; 7 intermediate headers + 24 rows of 7;
    # 5 hand-answer headers + 12 rows (one per key, all agree) of 5
    assert len(parsed.cells) == 9 + 31 * 9 + 7 + 24 * 7 + 5 + 12 * 5
    assert "Hand answers: 55 of 55 entries agree." in comparison._repr_html_()
    row = parsed.cells.index("W1[0][2]")
    cells = parsed.cells[row:row + 7]
    assert cells[:3] + cells[4:] == ["W1[0][2]", "0.44", "0.44", "0.44", "0.44", "agree"]
    assert float(cells[3]) < 1e-15  # |hand - autograd|: rounding noise, its value depends on the BLAS
    assert "L" in parsed.cells and "0.89625" in parsed.cells
    assert "Result: everything agrees, apart from 2 known errata of the text" in comparison._repr_html_()


def test_html_escapes_the_title_and_cells(chapter7_variant):
    path = chapter7_variant('title = "Chapter 7: the 2x2 diagonal flip network, running example"',
                            'title = "<script>alert(1)</script> & co"')
    text = compare_exercise(load_exercise(path))._repr_html_()
    assert "<script>" not in text and "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co" in text
    assert "the text&#x27;s count" not in text and "known erratum" in text  # summary lines are there


def test_text_rendering_is_the_cli_table(chapter7):
    comparison = compare_exercise(chapter7)
    text = str(comparison)
    assert text.splitlines()[0] == chapter7.title
    assert "| W1[0][2]    | 0.44           | 0.44 " in text
    assert text.rstrip().endswith("Result: everything agrees, apart from 2 known errata of the text (see above).")
    assert repr(comparison).startswith("<Comparison 'Chapter 7") and "31 of 31 gradients agree, ok" in repr(comparison)

    class Printer:  # IPython's pretty printer protocol
        def __init__(self):
            self.out = ""

        def text(self, s):
            self.out += s
    printer = Printer()
    comparison._repr_pretty_(printer, cycle=False)
    assert printer.out == text


def test_student_check_renders_in_both(chapter7):
    check = check_student(STUDENTS / "mask_dropped.py", "backward", chapter7)
    text = str(check)
    assert text.startswith("Student code: ") and text.rstrip().endswith("Student result: FAIL.")
    page = check._repr_html_()
    assert "<b>Student result: FAIL.</b>" in page and "DISAGREE: hand ≠ exact" in page


def test_html_shows_a_diagnosed_slip():
    from pathlib import Path
    from reference import load_exercise
    student = Path(__file__).parent.parent / "examples" / "chapter7-student.exercise.toml"
    page = compare_exercise(load_exercise(student))._repr_html_()
    assert "slip: the mistake entered here, at Step 1: gradient of the loss" in page

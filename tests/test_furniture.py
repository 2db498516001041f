"""The report's furniture: numbered captions, alt text, references, anchors, contents, words."""

import base64

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from charlm.report.assemble import assemble
from charlm.report.furniture import WordCount
from charlm.report.furniture import (NO_ALT, FurnitureError, add_toc, fill_references, furnish,
                                     number_captions, unique_anchors, word_count)

IMG = f'<img alt="{NO_ALT}" src="data:image/png;base64,AAAA"/>'


def test_captions_are_numbered_per_kind_and_give_their_figure_its_alt_text():
    body = (f"{IMG}{IMG}<p>Figure {{#fig-a}}: Loss &amp; <em>time</em>.</p>"
            "<table></table><p>Table {#tab-a}: The runs.</p>"
            f"{IMG}<p>Figure {{#fig-b}}: Second.</p>")
    out, labels = number_captions(body)
    assert labels == {"fig-a": "Figure 1", "tab-a": "Table 1", "fig-b": "Figure 2"}
    assert out.count('alt="Loss &amp; time."') == 2 and out.count('alt="Second."') == 1
    assert '<p class="caption" id="fig-b"><strong>Figure 2.</strong> Second.</p>' in out
    assert '<p class="caption" id="tab-a"><strong>Table 1.</strong> The runs.</p>' in out
    with pytest.raises(FurnitureError, match="fig-a.*twice"):
        number_captions(body + "<p>Figure {#fig-a}: again</p>")


def test_a_table_is_numbered_by_the_paragraph_after_it_else_by_its_title():
    title = '<p class="charlm-caption" style="x">{}</p>'
    body = (title.format("Runs") + "<table>1</table>" + "<p>Table {#tab-b}: Runs, read.</p>"
            + title.format("Scores") + "<table>2</table>" + "<table>3</table>"
            + title.format("Last") + "<table>4</table>")
    out, labels = number_captions(body)
    assert labels == {"tab-b": "Table 1"}
    assert ">Runs</p>" in out and "<strong>Table 1.</strong> Runs, read." in out
    assert "<strong>Table 2.</strong> Scores" in out and "<strong>Table 3.</strong> Last" in out


def test_references_read_their_label_and_a_dangling_one_is_an_error():
    out = fill_references('see <a href="#fig-a"></a> and <a href="#x">x</a>', {"fig-a": "Figure 4"})
    assert out == 'see <a href="#fig-a">Figure 4</a> and <a href="#x">x</a>'
    with pytest.raises(FurnitureError, match="tab-z"):
        fill_references('<a href="#tab-z"></a>', {})


def test_repeated_heading_ids_become_unique_with_their_anchor_links():
    h = '<h3 id="The-runs">The runs<a class="anchor-link" href="#The-runs">¶</a></h3>'
    out = unique_anchors(h + "<p>x</p>" + h + h)
    assert out.count('id="The-runs"') == 1 and 'id="The-runs-2"' in out and 'id="The-runs-3"' in out
    assert 'href="#The-runs-3"' in out


def test_the_contents_list_has_two_levels():
    body = ('<h1 id="T">T</h1><h2 id="a">A &amp; B<a href="#a">¶</a></h2><h3 id="a1">Risks</h3>'
            '<h4 id="deep">deep</h4><h2 id="b">B</h2>')
    nav = add_toc(body).split("<nav")[1].split("</nav>")[0]
    assert '<li><a href="#a">A &amp; B</a><ol><li><a href="#a1">Risks</a></li></ol></li>' in nav
    assert '<li><a href="#b">B</a></li>' in nav and "deep" not in nav


def test_words_are_counted_before_and_from_the_first_appendix_heading():
    body = ('<style>a b c</style><h1 id="t">Title</h1><nav>x y</nav><p>one two</p>'
            '<table><tr><td>three</td></tr></table><pre>four</pre>'
            '<h2 id="Appendix-A">Appendix A: build</h2><p>five six</p>')
    assert word_count(body) == WordCount(main=5, appendix=5)
    assert word_count("<p>a b</p>").appendix == 0
    # coloured text wraps each character in a span: still one word
    assert word_count('<pre><span>w</span><span>o</span>rd <b>two</b></pre>').main == 2


def test_a_figure_without_a_caption_stops_the_build():
    with pytest.raises(FurnitureError, match="1 image"):
        furnish(f'<h1 id="t">T</h1>{IMG}')
    # a caption describes only the images of its own section: an earlier one keeps no alt
    with pytest.raises(FurnitureError, match="1 image"):
        furnish(f'<h1 id="t">T</h1>{IMG}<h3 id="s">S</h3>{IMG}<p>Figure {{#fig-s}}: S.</p>')


def _png() -> str:
    return base64.b64encode(bytes.fromhex(
        "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
        "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082")).decode()


def test_the_assembled_report_numbers_captions_written_in_notebook_markdown(tmp_path):
    fig = new_code_cell("plot()")
    fig.outputs = [new_output("display_data", data={"image/png": _png(), "text/plain": "fig"})]
    nb = new_notebook(cells=[
        new_markdown_cell("# T\n\n## Part\n\n### The runs\n\nAs [Figure](#fig-x) shows."), fig,
        new_markdown_cell("Figure {#fig-x}: A dot on white.\n\n### The runs\n\n"
                          "## Appendix A: how it is built\n\nwords here")])
    nbformat.write(nb, str(tmp_path / "a.ipynb"))
    page = assemble([tmp_path / "a.ipynb"], tmp_path / "r.html").read_text()
    assert 'alt="A dot on white."' in page and NO_ALT not in page
    assert "<strong>Figure 1.</strong> A dot on white." in page
    assert 'As <a href="#fig-x">Figure 1</a> shows.' in page
    assert 'id="The-runs-2"' in page and 'href="#Appendix-A:-how-it-is-built"' in page
    assert word_count(page) == WordCount(main=16, appendix=8)

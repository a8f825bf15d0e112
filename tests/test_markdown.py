"""Long texts stored as Markdown (the CGU, the FAQ answers) are rendered by markdown-it-py, HTML input off."""

from __future__ import annotations

import re

import pytest

from convergence.core.formatting import FILTERS, markdown_text, render_markdown

HEADING = re.compile(r"<h[1-6]>")


def _terms_article(html: str) -> str:
    return html.split('<article class="terms-text markdown"')[1].split(">", 1)[1].split("</article>")[0]


# ------------------------------------------------------------------------------------------- the filter

def test_markdown_renders_headings_emphasis_lists_quotes_and_links():
    html = render_markdown("# Title\n\nSome **bold** and *italic* text, a [link](https://esante.gouv.fr).\n\n"
                           "- one\n- two\n\n> quoted")
    assert "<h1>Title</h1>" in html and "<strong>bold</strong>" in html and "<em>italic</em>" in html
    assert '<a href="https://esante.gouv.fr">link</a>' in html
    assert "<ul>\n<li>one</li>\n<li>two</li>\n</ul>" in html and "<blockquote>" in html


@pytest.mark.parametrize("text", [
    "<script>alert(1)</script>",
    "Hello <script>alert(1)</script> world",
    "<img src=x onerror=alert(1)>",
    '<a href="https://evil.example" style="color:red">x</a>',
])
def test_html_in_a_text_is_written_out_not_interpreted(text):
    html = render_markdown(text)
    assert "<script" not in html and "<img" not in html and "<a " not in html and 'style="' not in html
    assert "&lt;" in html


@pytest.mark.parametrize("url", ["javascript:alert(1)", "JAVASCRIPT:alert(1)", "vbscript:msgbox(1)",
                                 "data:text/html;base64,PHNjcmlwdD4="])
def test_dangerous_link_targets_are_refused(url):
    html = render_markdown(f"[click]({url})")
    assert "<a " not in html and "href" not in html


def test_headings_can_move_down_under_the_page_title():
    html = render_markdown("# One\n\n## Two\n\n###### Six", shift=1)
    assert "<h2>One</h2>" in html and "<h3>Two</h3>" in html and "<h6>Six</h6>" in html and "<h1>" not in html


def test_empty_text_and_none_render_nothing():
    assert render_markdown(None) == "" and render_markdown("") == ""


def test_plain_text_of_markdown_drops_the_marks():
    assert markdown_text("# Title\n\nSome **bold** text\non two lines.\n\n- one\n- `two`") == (
        "Title Some bold text on two lines. one two")


def test_the_filter_is_registered_and_its_output_is_not_escaped_again(settings):
    from convergence.app import create_app

    assert FILTERS["markdown"] is render_markdown
    env = create_app(settings).template_engine.engine
    html = env.from_string("{{ text|markdown }}").render(text="**a** <b>b</b>")
    assert html == "<p><strong>a</strong> &lt;b&gt;b&lt;/b&gt;</p>\n"


# ---------------------------------------------------------------------------------------------- the CGU

@pytest.mark.parametrize(("lang", "heading"), [("fr", "1. Objet du service"), ("en", "1. Purpose of the service")])
async def test_terms_page_renders_the_markdown(client, lang, heading):
    client.cookies.set("cv_lang", lang)
    page = await client.get("/terms")
    assert page.status_code == 200
    article = _terms_article(page.text)
    assert "**" not in article and not re.search(r"(^|\n)\s*#", article) and "\n&gt;" not in article
    assert "<h2>" in article and "<h1>" not in article  # the page's own title stays the only h1
    assert len(HEADING.findall(article)) >= 3 and "<strong>" in article and "<li>" in article
    assert "<blockquote>" in article
    assert f"<h3>{heading}</h3>" in article  # "## 1. ..." one level under the text's own title (an h2)
    assert page.text.count("<h1>") == 1


async def test_terms_page_keeps_the_content_security_policy(client):
    page = await client.get("/terms")
    policy = page.headers.get("content-security-policy", "")
    assert policy and "unsafe-inline" not in policy.split("script-src")[-1].split(";")[0]
    article = _terms_article(page.text)
    assert "<script" not in article and "style=" not in article and not re.search(r"<[^>]+ on\w+=", article)

"""Facts are text, never markup; the renderer fetches nothing outside the bundle."""

import http.server
import threading

import pytest
from weasyprint.urls import FatalURLFetchingError

import letters
from letters.render import BundleFetcher, FetchRefused, LETTERS_DIR

from .conftest import pdf_pages, squash


class _Counter(http.server.BaseHTTPRequestHandler):
    hits = []

    def do_GET(self):  # noqa: N802
        self.hits.append(self.path)
        self.send_response(200)
        self.send_header('Content-Type', 'image/png')
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def http_server():
    _Counter.hits = []
    server = http.server.HTTPServer(('127.0.0.1', 0), _Counter)
    server.timeout = 0.2
    thread = threading.Thread(target=server.serve_forever, kwargs={'poll_interval': 0.05},
                              daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_markup_in_facts_is_printed_literally_and_fetches_nothing(http_server):
    port = http_server.server_address[1]
    evil = f'<img src="http://127.0.0.1:{port}/x"><b>粗体</b><link rel=stylesheet href="http://127.0.0.1:{port}/s.css">'
    facts = letters.example_facts('opinion')
    facts['enterprise']['name'] = facts['addressee']['name'] = '京华' + evil
    facts['findings'] = [f'<style>@import url(http://127.0.0.1:{port}/i.css)</style>{evil}']
    data = letters.render('opinion', facts, number='京工监意〔2026〕1号', verification=None)
    text = squash(''.join(page['text'] for page in pdf_pages(data)))
    assert squash(f'<img src="http://127.0.0.1:{port}/x"><b>粗体</b>') in text
    assert '<style>@import' in text
    assert _Counter.hits == []


@pytest.mark.parametrize('url', [
    'http://127.0.0.1:9/x.png', 'https://example.org/font.ttf', 'data:text/css,body{}',
    'file:///etc/passwd', (LETTERS_DIR.parent / 'setup.cfg').as_uri(),
    (LETTERS_DIR / 'fonts' / '..' / '..' / 'setup.cfg').as_uri(), 'ftp://example.org/x',
    (LETTERS_DIR / 'fonts' / 'build.py').as_uri(),
])
def test_fetcher_refuses_everything_outside_the_bundle(url):
    with pytest.raises(FetchRefused):
        BundleFetcher().fetch(url)


def test_fetcher_serves_bundled_assets():
    response = BundleFetcher().fetch((LETTERS_DIR / 'fonts' / 'song.ttf').as_uri())
    assert response.read(4) == b'\0\1\0\0'


def test_a_template_that_fetches_stops_the_rendering():
    from weasyprint import HTML

    with pytest.raises(FatalURLFetchingError):
        HTML(string='<img src="http://127.0.0.1:9/x.png">',
             url_fetcher=BundleFetcher()).write_pdf()


@pytest.mark.parametrize('source', [
    '{{ facts.__class__.__mro__ }}', "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    '{{ facts.update.__globals__ }}',
])
def test_jinja_sandbox_blocks_attribute_escapes(source):
    from jinja2.exceptions import SecurityError, UndefinedError

    from letters.render import ENV

    with pytest.raises((SecurityError, UndefinedError)):
        ENV.from_string(source).render(facts={})

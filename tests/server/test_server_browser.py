"""The web explorer in a real browser: Playwright driving Debian's Chromium.

Skipped (saying why) where /usr/bin/chromium is missing; CI sets
EMBEDSPACE_REQUIRE_BROWSER=1 so there a missing browser fails instead. With
EMBEDSPACE_SCREENSHOTS=1 each view's screenshot is written to docs/img/ for the README.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

import embedspace as es

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-quic",
    "--disable-sync",
]
DOCS_IMG = Path(__file__).resolve().parents[2] / "docs" / "img"

if not CHROMIUM.exists() and not os.environ.get("EMBEDSPACE_REQUIRE_BROWSER"):
    pytest.skip(
        f"{CHROMIUM} not found: `make browser` (as root) installs Debian's chromium",
        allow_module_level=True,
    )
sync_api = pytest.importorskip("playwright.sync_api", reason="the test extra is not installed")


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, server_url):
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(server_url + "/")
    # PCA paints first; the neighbour map (a cold UMAP in the server: numba compiles) follows
    page.wait_for_selector("#map[data-ready='1']", timeout=120_000)
    yield page
    page.close()
    assert errors == [], "JavaScript errors on the page"


@pytest.fixture
def shots(tmp_path) -> Path:
    return DOCS_IMG if os.environ.get("EMBEDSPACE_SCREENSHOTS") else tmp_path


def _point(page, item_id: str) -> dict[str, float]:
    x, y = page.evaluate("(id) => toScreen(state.map.index.get(id))", item_id)
    return {"x": x, "y": y}


def _loneliest(page) -> str:
    """The id of the point farthest from any other on screen: hovering it is unambiguous."""
    return page.evaluate(
        """() => {
        const n = state.map.ids.length, pts = [...Array(n).keys()].map(toScreen);
        let best = 0, bestGap = -1;
        for (let i = 0; i < n; i++) {
            let gap = Infinity;
            for (let j = 0; j < n; j++) if (j !== i)
                gap = Math.min(gap, Math.hypot(pts[i][0] - pts[j][0], pts[i][1] - pts[j][1]));
            if (gap > bestGap) { best = i; bestGap = gap; }
        }
        return state.map.ids[best];
    }"""
    )


#: Pixels with any paint on the WebGL points canvas (copied onto a 2-D canvas to read).
PAINTED = """async () => {
    // after the pending frame: draws are coalesced into the next animation frame
    await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
    const gl = document.querySelector('#points');
    const copy = document.createElement('canvas');
    copy.width = gl.width; copy.height = gl.height;
    const c2 = copy.getContext('2d');
    c2.drawImage(gl, 0, 0);
    const data = c2.getImageData(0, 0, copy.width, copy.height).data;
    let n = 0;
    for (let i = 3; i < data.length; i += 4) if (data[i] > 0) n++;
    return n;
}"""


def test_map_draws_every_item(page, shots):
    assert page.title() == "embedspace explorer"
    assert page.locator("#status").inner_text() == "60 items · neighbour map (UMAP)"
    assert page.evaluate("points.kind") == "webgl"
    assert page.locator("#map").get_attribute("data-method") == "umap"
    assert page.locator("#notice").is_hidden()
    painted = page.evaluate(PAINTED)
    dpr = page.evaluate("window.devicePixelRatio")
    assert painted >= 60 * 4 * dpr * dpr  # at least a few pixels of every point
    # coloured by cluster by default, once the topics arrive
    page.wait_for_function("Array.isArray(state.map.clusters)", timeout=120_000)
    topics = page.locator("#legend li").all_inner_texts()
    assert page.evaluate("state.map.clusters.length") == 60 and len(topics) >= 2
    assert sum(int(t.rsplit("(", 1)[1].rstrip(")")) for t in topics) == 60
    page.select_option("#color-by", "kind")
    page.wait_for_function("state.map.color_by === 'kind'")
    legend = page.locator("#legend li").all_inner_texts()
    assert len(legend) >= 2 and sum(int(t.rsplit("(", 1)[1].rstrip(")")) for t in legend) == 60


def test_hover_and_click_show_the_item_and_its_neighbours(page, served_space_path, shots):
    item_id = _loneliest(page)
    with es.Space(served_space_path, create=False, progress=False) as sp:
        text = sp.get(item_id).text
        expected = [h.id for h in sp.search_vector(sp.vectors([item_id]), 11) if h.id != item_id]
    canvas = page.locator("#map")
    canvas.hover(position=_point(page, item_id))
    assert page.locator("#tooltip").is_visible()
    assert page.locator("#tooltip").inner_text() == text[:200]
    canvas.click(position=_point(page, item_id))
    page.wait_for_function("document.querySelectorAll('#neighbours li').length === 10")
    assert page.locator("#selected").inner_text() == text[:200]
    got = page.eval_on_selector_all("#neighbours li", "els => els.map(e => e.dataset.id)")
    assert got == expected[:10]
    scores = [float(s) for s in page.locator("#neighbours .score").all_inner_texts()]
    assert scores == sorted(scores, reverse=True)
    page.screenshot(path=str(shots / "explorer-neighbours.png"))


def test_search_lists_results_and_marks_the_query(page, served_space_path, shots):
    with es.Space(served_space_path, create=False, progress=False) as sp:
        expected = [h.id for h in sp.search("a gripping thriller", k=10, mode="hybrid")]
    page.click("#tabs button[data-view='search']")
    page.fill("#query", "a gripping thriller")
    page.select_option("#mode", "hybrid")
    page.click("#search-form button")
    page.wait_for_function("document.querySelectorAll('#results li').length === 10")
    got = page.eval_on_selector_all("#results li", "els => els.map(e => e.dataset.id)")
    assert got == expected
    assert page.evaluate("state.query.length") == 2
    page.screenshot(path=str(shots / "explorer-search.png"))
    page.fill("#where", "kind=rotten")
    page.click("#search-form button")
    with es.Space(served_space_path, create=False, progress=False) as sp:
        rotten = [
            h.id for h in sp.search("a gripping thriller", 10, "hybrid", where={"kind": "rotten"})
        ]
    page.wait_for_function(
        "(ids) => JSON.stringify([...document.querySelectorAll('#results li')]"
        ".map(li => li.dataset.id)) === JSON.stringify(ids)",
        arg=rotten,
    )


def test_compare_updates_live(page, encoder, shots):
    page.click("#tabs button[data-view='compare']")
    page.wait_for_selector("#compare-table tr[data-key='dense']")
    page.click(".examples button:has-text('negation')")
    expected = es.compare("the movie was good", "the movie was not good", model=encoder)
    dense = f"{expected['dense']:.3f}"
    page.wait_for_function(
        "(v) => document.querySelector(\"tr[data-key='dense'] .cosine\").textContent === v",
        arg=dense,
    )
    page.fill("#cmp-b", "the film was great")  # typing alone updates the table
    again = es.compare("the movie was good", "the film was great", model=encoder)
    page.wait_for_function(
        "(v) => document.querySelector(\"tr[data-key='dense'] .cosine\").textContent === v",
        arg=f"{again['dense']:.3f}",
    )
    page.click(".examples button:has-text('negation')")
    page.wait_for_function(
        "(v) => document.querySelector(\"tr[data-key='dense'] .cosine\").textContent === v",
        arg=dense,
    )
    assert page.evaluate("state.pair.length") == 2
    page.screenshot(path=str(shots / "explorer-compare.png"))


def test_words_analogy(page, shots):
    page.click("#tabs button[data-view='words']")
    page.click("#analogy-form button")
    page.wait_for_selector("#analogies li")
    assert page.locator("#analogies li").first.inner_text().endswith("queen")
    page.click("#nearest-form button")
    page.wait_for_function("document.querySelectorAll('#nearest li').length === 10")
    page.screenshot(path=str(shots / "explorer-words.png"))


def test_exported_html_map_works_from_a_file(browser, served_space_path, tmp_path):
    from embedspace.map_export import export_map

    with es.Space(served_space_path, create=False, progress=False) as sp:
        export_map(sp, tmp_path / "map.html")
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    page.route(
        "**/*",
        lambda route: route.abort() if route.request.url.startswith("http") else route.continue_(),
    )
    page.goto((tmp_path / "map.html").as_uri())
    page.wait_for_selector("#map[data-ready='1']")
    assert not page.locator("#tabs button[data-view='search']").is_visible()
    assert page.evaluate("points.kind") == "webgl" and page.evaluate(PAINTED) > 60
    assert page.locator("#map").get_attribute("data-method") == "umap"
    page.wait_for_function("state.drawnTopics && state.drawnTopics.length > 0")  # topics inline
    item_id = _loneliest(page)
    page.locator("#map").click(position=_point(page, item_id))
    page.wait_for_function("document.querySelectorAll('#neighbours li').length === 10")
    page.close()


#: How many distinct colours the canvas shows around an item: a photo is hundreds, a dot few.
COLOURS_AROUND = """(id) => {
    const [x, y] = toScreen(state.map.index.get(id)), d = window.devicePixelRatio || 1;
    const px = ctx.getImageData((x - 10) * d, (y - 10) * d, 20 * d, 20 * d).data;
    const seen = new Set();
    for (let i = 0; i < px.length; i += 4) seen.add((px[i] << 16) | (px[i + 1] << 8) | px[i + 2]);
    return seen.size;
}"""


def _open_photo_map(browser, url: str):
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(url)
    page.wait_for_selector("#map[data-ready='1'][data-points='25']", timeout=120_000)
    page.wait_for_selector("#map[data-thumbnails='5']")  # every photo fetched and decoded
    return page, errors


def test_map_draws_photos_as_thumbnails(browser, photo_server_url, shots):
    page, errors = _open_photo_map(browser, photo_server_url + "/")
    assert page.evaluate(COLOURS_AROUND, "chelsea.png") > 100
    cat = _point(page, "chelsea.png")
    page.locator("#map").hover(position=cat)
    page.wait_for_selector("#tooltip img.thumb")
    assert page.locator("#tooltip").inner_text() == "chelsea.png"
    page.locator("#map").click(position=cat)
    page.wait_for_selector("#selected img.thumb")
    page.wait_for_function("document.querySelectorAll('#neighbours li').length === 10")
    page.wait_for_selector("#legend li")  # topics found: the frames have their colours
    page.screenshot(path=str(shots / "explorer-photos.png"))
    page.close()
    assert errors == [], "JavaScript errors on the page"


def test_exported_html_map_carries_its_photos(browser, photo_space_path, tmp_path):
    from embedspace.map_export import export_map

    with es.Space(photo_space_path, create=False, progress=False) as sp:
        export_map(sp, tmp_path / "map.html")
    page, errors = _open_photo_map(browser, (tmp_path / "map.html").as_uri())
    assert page.evaluate(COLOURS_AROUND, "chelsea.png") > 100
    page.close()
    assert errors == [], "JavaScript errors on the page"


def test_images_tab_labels_a_photo(page, tmp_path, shots):
    from skimage import data, io

    photo = tmp_path / "cat.png"
    io.imsave(photo, data.chelsea(), check_contrast=False)
    page.click("#tabs button[data-view='images']")
    page.set_input_files("#image-file", str(photo))
    page.wait_for_function(
        "document.querySelectorAll('#image-results li').length === 10", timeout=120_000
    )
    assert page.locator("#image-predictions li").first.inner_text().endswith("a cat")
    page.screenshot(path=str(shots / "explorer-images.png"))


def test_lasso_selects_exports_and_lists_the_points_inside(page, shots):
    box = page.locator("#map").bounding_box()
    page.click("#lasso-mode")
    # a loop around the whole map: every point is inside
    corners = [(0.02, 0.02), (0.98, 0.02), (0.98, 0.98), (0.02, 0.98), (0.02, 0.03)]
    page.mouse.move(
        box["x"] + corners[0][0] * box["width"], box["y"] + corners[0][1] * box["height"]
    )
    page.mouse.down()
    for fx, fy in corners[1:]:
        page.mouse.move(box["x"] + fx * box["width"], box["y"] + fy * box["height"], steps=5)
    page.mouse.up()
    assert page.locator("#lasso-title").inner_text() == "Lasso: 60 selected"
    assert page.locator("#lasso-list li").count() == 60
    with page.expect_download() as download:
        page.click("#lasso-export")
    exported = Path(download.value.path()).read_text().split()
    assert sorted(exported) == sorted(page.evaluate("state.map.ids"))
    page.click("#lasso-open")
    assert page.locator("#results li").count() == 60
    # a loop around one half only takes that half's points
    page.click("#tabs button[data-view='map']")
    left = page.evaluate(
        "() => state.map.ids.filter((_, i) => state.sx[i] < document.querySelector('#map').clientWidth / 2).length"
    )
    page.mouse.move(box["x"] + 1, box["y"] + 1)
    page.mouse.down()
    for fx, fy in [(0.5, 0.0), (0.5, 1.0), (0.0, 1.0), (0.0, 0.01)]:
        page.mouse.move(
            box["x"] + fx * box["width"], box["y"] + fy * box["height"] - (fy == 1.0), steps=5
        )
    page.mouse.up()
    assert page.locator("#lasso-title").inner_text() == f"Lasso: {left} selected"


def test_drag_pans_and_wheel_zooms_about_the_mouse(page):
    box = page.locator("#map").bounding_box()
    item = page.evaluate("state.map.ids[0]")
    before = _point(page, item)
    page.mouse.move(box["x"] + 300, box["y"] + 300)
    page.mouse.down()
    page.mouse.move(box["x"] + 360, box["y"] + 340, steps=4)
    page.mouse.up()
    page.wait_for_timeout(100)
    moved = _point(page, item)
    assert abs(moved["x"] - before["x"] - 60) < 1.5 and abs(moved["y"] - before["y"] - 40) < 1.5
    # zoom about the point itself: it stays under the mouse
    page.mouse.move(box["x"] + moved["x"], box["y"] + moved["y"])
    page.mouse.wheel(0, -400)
    page.wait_for_function("view.zoom > 2")
    page.wait_for_timeout(100)
    after = _point(page, item)
    assert abs(after["x"] - moved["x"]) < 1.5 and abs(after["y"] - moved["y"]) < 1.5
    assert page.locator("#selected-title").is_hidden()  # a drag is not a click


def test_topic_labels_sit_at_their_clusters(page, shots):
    page.wait_for_function("state.drawnTopics && state.drawnTopics.length > 0", timeout=120_000)
    centres = page.evaluate(
        """() => state.topics.map((t) => {
        const idx = state.map.clusters.map((c, i) => [c, i])
            .filter(([c]) => c >= 0 && state.map.cluster_labels[c].startsWith(t.label)).map(([, i]) => i);
        return [t.label, t.x, t.y, idx.map((i) => state.map.x[i]), idx.map((i) => state.map.y[i])];
    })"""
    )
    for _, x, y, xs, ys in centres:
        assert xs and float(np.median(xs)) == pytest.approx(x, abs=0.05)
        assert float(np.median(ys)) == pytest.approx(y, abs=0.05)
    page.screenshot(path=str(shots / "explorer-map.png"))


#: A synthetic 100k-point map with 60 topics, put straight into the page (the renderer
#: does not care where points come from; a 100k-item space would take minutes to build).
BIG_MAP = """() => {
    const n = 100000, topics = 60;
    let seed = 1;
    const random = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
    const cx = Array.from({ length: topics }, () => random() * 1.8 - 0.9);
    const cy = Array.from({ length: topics }, () => random() * 1.8 - 0.9);
    const x = new Array(n), y = new Array(n), clusters = new Array(n);
    for (let i = 0; i < n; i++) {
        const c = i % topics, r = 0.06 * Math.sqrt(-2 * Math.log(random() + 1e-9));
        const a = 2 * Math.PI * random();
        x[i] = cx[c] + r * Math.cos(a); y[i] = cy[c] + r * Math.sin(a); clusters[i] = c;
    }
    const ids = x.map((_, i) => `p${i}`);
    showMap({ ids, x, y, text: ids, count: n, total: n, method: "umap", notice: null,
              keys: [], groups: null, generation: 0, color_by: null, thumbnails: null });
    state.map.clusters = clusters;
    state.map.cluster_labels = cx.map((_, c) => `topic${c}, words, here`);
    state.topics = topicCentres(state.map);
    setColours(clusterGroups(state.map));
    draw();
    return state.drawnTopics.length;
}"""

#: Pan and zoom for `frames` animation frames: each frame's own work (draw + GPU finish)
#: and the interval between frames (what a viewer sees), in ms. ``still``: draw every
#: point in every frame, as when the view rests (measured, not asserted).
FRAMES = """async ([frames, still]) => {
    const work = [], intervals = [];
    let last = null;
    for (let f = 0; f < frames; f++) {
        const now = await new Promise((resolve) => requestAnimationFrame(resolve));
        if (last !== null) intervals.push(now - last);
        last = now;
        const started = performance.now();
        view.zoom *= 1.03; view.cx += 0.004; view.cy -= 0.002;
        view.moving = still !== true;  // as viewMoved() sets it while a pan or zoom runs
        draw();
        points.finish();
        work.push(performance.now() - started);
    }
    return { work, intervals };
}"""


def test_100k_points_pan_and_zoom_at_30_fps(page, shots):
    labels_whole = page.evaluate(BIG_MAP)
    assert page.evaluate("points.kind") == "webgl"
    assert 0 < labels_whole < 60  # labels that would overlap wait for more zoom
    fps = {}
    for still in (True, False):
        measured = page.evaluate(FRAMES, [90, still])
        work, intervals = np.array(measured["work"]), np.array(measured["intervals"])
        fps[still] = 1000 / float(np.median(intervals))
        print(
            f"100k points, headless Chromium (SwiftShader WebGL), "
            f"{'every point' if still else 'moving (25k sample)'}: draw median "
            f"{np.median(work):.1f} ms; frame interval median {np.median(intervals):.1f} ms "
            f"(p90 {np.percentile(intervals, 90):.1f}) -> {fps[still]:.0f} fps"
        )
    assert fps[False] >= 30, fps
    page.evaluate(
        "() => { Object.assign(view, { cx: 0, cy: 0, zoom: 1, moving: false }); draw(); }"
    )
    whole = page.evaluate("state.drawnTopics")
    hidden = page.evaluate(
        "(shown) => state.topics.filter((t) => !shown.includes(t.label))[0]", whole
    )
    # zooming in on a topic whose label was crowded out brings it out
    page.evaluate("(t) => { Object.assign(view, { cx: t.x, cy: t.y, zoom: 6 }); draw(); }", hidden)
    assert hidden["label"] in page.evaluate("state.drawnTopics")


def test_without_webgl_the_map_falls_back_to_a_canvas_and_says_so(browser, server_url):
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    page.add_init_script("window.EMBEDSPACE_NO_WEBGL = true")
    page.goto(server_url + "/")
    page.wait_for_selector("#map[data-ready='1']", timeout=120_000)
    assert page.evaluate("points.kind") == "canvas"
    assert page.locator("#map").get_attribute("data-renderer") == "canvas"
    assert "WebGL is not available" in page.locator("#notice").inner_text()
    assert page.evaluate(PAINTED) >= 60 * 4
    page.close()


def test_tour_tells_the_story_live(browser, server_url, shots):
    import httpx

    from embedspace.analysis import tour

    data = httpx.get(f"{server_url}/tour/data", timeout=120).json()
    page = browser.new_page(viewport={"width": 1000, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(server_url + "/tour")
    page.wait_for_selector("body[data-ready='1']", timeout=120_000)
    points = data["shared_space"]["points"]
    words = sum(p["kind"] == "word" for p in points)
    assert page.locator("#shared-map").get_attribute("data-shown") == str(words)
    page.click(".stages button[data-stage='3']")
    page.wait_for_selector(f"#shared-map[data-shown='{len(points)}']")
    kinds = {p["kind"] for p in points}
    assert kinds == {"word", "sentence", "image"} and "china.jpg" in data["shared_space"]["images"]
    # the photos settle beside their own concept's sentence (ConSE puts them in text space)
    photos = [p for p in points if p["kind"] == "image"]
    assert sum(p["nearest_sentence"] == p["concept"] for p in photos) >= len(photos) - 1
    # king - man + woman: GloVe's answer, drawn as arrows
    assert data["analogy"]["answer"] == "queen"
    assert page.locator("#analogy-answer").inner_text().startswith("Nearest word to king")
    # the pairs table: shared words fool one-hot, paraphrases fool it the other way
    rows = page.locator("#pairs-table tbody tr").all_inner_texts()
    assert len(rows) == len(tour.PAIRS)
    love, paris = (row["scores"] for row in data["pairs"])
    assert love["one-hot"] > 0.5 and paris["one-hot"] == 0 and paris["dense"] > 0.5
    # negation: the bi-encoder finds "good" / "not good" close, the cross-encoder does not
    negated = data["negation"][0]
    assert negated["bi_encoder"] > 0.5 and negated["cross_encoder"] < negated["bi_encoder"] - 0.3
    cells = page.locator("#negation-table tbody tr").first.locator("td").all_inner_texts()
    assert float(cells[2]) == pytest.approx(negated["bi_encoder"], abs=1e-3)
    page.screenshot(path=str(shots / "explorer-tour.png"), full_page=True)
    page.close()
    assert errors == [], "JavaScript errors on the page"

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from helpers import plots, widgets  # noqa: E402


def test_image_grid_layouts(tmp_path):
    plots.set_style()
    fig = plots.image_grid(torch.rand(5, 8, 8), titles=list("abcde"), ncols=3)
    assert len(fig.axes) == 6 and fig.axes[0].get_title() == "a"
    fig = plots.image_grid(torch.rand(2, 4, 8, 8))  # (R, C, H, W) grid
    assert len(fig.axes) == 8
    fig = plots.image_grid(torch.rand(3, 3, 8, 8))  # RGB
    assert len(fig.axes) == 3
    assert plots.savefig(fig, tmp_path, "grid").exists()
    plt.close("all")


def test_explore_draws_static_panels_and_a_slider(monkeypatch):
    monkeypatch.delenv("HELPERS_STATIC", raising=False)
    calls = []

    def draw(v, ax):
        calls.append(v)
        ax.plot([0, 1], [0, v])

    fig, widget = widgets.explore(draw, [0.0, 0.25, 0.5, 0.75, 1.0], "nu")
    assert calls[:3] == [0.0, 0.5, 1.0]  # static panels: first, middle, last
    assert [a.get_title() for a in fig.axes] == ["nu = 0.0", "nu = 0.5", "nu = 1.0"]
    assert widget is not None and widget.children[0].description == "nu"
    fig, widget = widgets.explore(draw, [1, 2], "beta", interactive=False)
    assert widget is None and len(fig.axes) == 2
    with pytest.raises(ValueError, match="at least one value"):
        widgets.explore(draw, [], "nu")
    plt.close("all")


def test_batch_runs_get_a_frame_slider_not_a_widget(monkeypatch):
    monkeypatch.setenv("HELPERS_STATIC", "1")
    shown = []
    monkeypatch.setattr("IPython.display.display", lambda obj: shown.append(obj))
    fig, widget = widgets.explore(lambda v, ax: ax.plot([0, v]), [1, 2, 3], "nu")
    assert widget is None and len(fig.axes) == 3
    assert len(shown) == 1 and widgets.FRAME_CLASS in shown[0].data
    plt.close("all")


def test_frame_slider_is_self_contained_html():
    """One inline image per value, the first shown; a range input over them; no script tag, no URL."""
    import re

    out = widgets.frames_html(lambda v, ax: ax.plot([0, v]), [0.5, 1.0, 2.0], "β", fmt=lambda v: f"{v:g}")
    imgs = re.findall(r"<img [^>]*>", out)
    assert len(imgs) == 3 and all('src="data:image/png;base64,' in i for i in imgs)
    assert ["display:none" in i for i in imgs] == [False, True, True]
    assert 'type="range" min="0" max="2"' in out and "oninput=" in out
    assert "<script" not in out and "http" not in out
    assert '&quot;0.5&quot;, &quot;1&quot;, &quot;2&quot;' in out      # the labels, escaped into an attribute
    with pytest.raises(ValueError, match="at least one value"):
        widgets.frames_html(lambda v, ax: None, [], "nu")
    with pytest.raises(ValueError, match="start must index"):
        widgets.frames_html(lambda v, ax: None, [1], "nu", start=3)
    plt.close("all")


def test_legible_raises_small_text_to_nine_pixels_at_the_page_width():
    """A 14-inch figure with 8-point tick labels shows them at ~5 px in the book's column; ``legible`` raises
    every smaller text to 9 px there and leaves larger text alone."""
    from helpers import plots

    fig, axes = plt.subplots(1, 3, figsize=(14, 3.5))
    for ax in axes:
        ax.plot([0, 1], [0, 1])
        ax.set_title("a title", fontsize=30)
        ax.tick_params(labelsize=8)
    assert plots.min_text_px(fig) < 6
    plots.legible(fig)
    assert plots.min_text_px(fig) >= plots.MIN_TEXT_PX - 1e-9
    assert axes[0].title.get_fontsize() == 30
    small = plt.figure(figsize=(3, 2))
    small.gca().plot([0, 1])
    assert plots.min_text_px(small) >= 9      # narrower than the column: shown at its own size
    plt.close("all")

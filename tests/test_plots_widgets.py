import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from helpers import plots, widgets  # noqa: E402


def shown_fraction(fig) -> float:
    """The fraction of its natural width (width x dpi) at which the page's column shows ``fig``."""
    return min(1.0, plots.PAGE_COLUMN_PX / (fig.get_size_inches()[0] * fig.get_dpi()))


def test_image_grid_layouts():
    plots.set_style()
    fig = plots.image_grid(torch.rand(5, 8, 8), titles=list("abcde"), ncols=3)
    assert len(fig.axes) == 6 and fig.axes[0].get_title() == "a"
    fig = plots.image_grid(torch.rand(2, 4, 8, 8))  # (R, C, H, W) grid
    assert len(fig.axes) == 8
    fig = plots.image_grid(torch.rand(2, 3, 8, 8))  # (R, C, H, W) grid with C = 3
    assert len(fig.axes) == 6
    plt.close("all")


def test_explore_draws_static_panels_and_a_slider(monkeypatch):
    monkeypatch.delenv("HELPERS_STATIC", raising=False)
    calls = []

    def draw(v, ax):
        calls.append(v)
        ax.plot([0, 1], [0, v])

    fig, widget = widgets.explore(draw, [0.0, 0.25, 0.5, 0.75, 1.0], "nu", figure_name="fig-ch9-nu", caption="nu")
    assert calls[:3] == [0.0, 0.5, 1.0]  # static panels: first, middle, last
    assert [a.get_title() for a in fig.axes] == ["nu = 0.0", "nu = 0.5", "nu = 1.0"]
    assert widget is not None and widget.children[0].description == "nu"
    with pytest.raises(ValueError, match="at least one value"):
        widgets.explore(draw, [], "nu", figure_name="fig-ch9-nu", caption="nu")
    plt.close("all")


def test_batch_runs_get_a_frame_slider_not_a_widget(monkeypatch):
    monkeypatch.setenv("HELPERS_STATIC", "1")
    shown = []
    monkeypatch.setattr("IPython.display.display", lambda *objs: shown.extend(objs))
    monkeypatch.setattr("myst_nb.glue", lambda name, obj, display=True: None)
    fig, widget = widgets.explore(lambda v, ax: ax.plot([0, v]), [1, 2, 3], "nu", figure_name="fig-ch9-nu",
                                  caption="nu")
    assert widget is None and len(fig.axes) == 3
    assert [widgets.FRAME_CLASS in o.data for o in shown if type(o).__name__ == "HTML"] == [True]
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


# --------------------------------------------------------------------------- issue 43: the column, captions, tables
def test_panel_grid_and_column_figsize_fit_the_column():
    """Eight 3.6-in panels do not fit one 10.2-in row: ``panel_grid`` makes rows of two, and every figure it or
    ``column_figsize`` makes is shown at >= MIN_SHOWN of its width in the 675-px column."""
    assert plots.max_width_in() == pytest.approx(675 / (0.6 * 110))
    fig, axes = plots.panel_grid(8, panel=(3.6, 2.8))
    assert len(axes) == 8 and len(fig.axes) == 8
    assert {round(ax.get_position().x0, 2) for ax in axes} == {round(axes[0].get_position().x0, 2),
                                                               round(axes[1].get_position().x0, 2)}   # 2 columns
    assert shown_fraction(fig) >= plots.MIN_SHOWN
    fig, axes = plots.panel_grid(5, max_cols=3)
    assert len(fig.axes) == 5                          # the sixth axis of the 2 x 3 grid is removed
    w, h = plots.column_figsize(4, 1, (4.0, 3.0))      # 16 in shrunk as a whole to 10.2 in
    assert w == pytest.approx(plots.max_width_in()) and h == pytest.approx(3.0 * w / 16.0)
    assert plots.column_figsize(1, 1, (4.0, 3.0)) == (4.0, 3.0)
    wide = plt.figure(figsize=(16, 3))
    assert shown_fraction(wide) == pytest.approx(675 / (16 * wide.get_dpi()))
    with pytest.raises(ValueError, match="at least one panel"):
        plots.panel_grid(0)
    with pytest.raises(ValueError, match="at least one row"):
        plots.column_figsize(0, 1)
    fig = plots.image_grid(torch.rand(10, 8, 8), ncols=10)          # 10 x 1.6 in would be 16 in
    assert shown_fraction(fig) >= plots.MIN_SHOWN
    plt.close("all")


def test_explore_stacks_wide_static_panels_and_captions_them(monkeypatch):
    """Three 5.5-in panels (16.5 in) become three rows; with a caption the static figure is glued and shown as a
    numbered {glue:figure} in a book build."""
    monkeypatch.setenv("HELPERS_STATIC", "1")
    shown = []
    monkeypatch.setattr("IPython.display.display", lambda *objs: shown.extend(objs))
    glued = []
    monkeypatch.setattr("myst_nb.glue", lambda name, obj, display=True: glued.append((name, obj, display)))
    fig, _ = widgets.explore(lambda v, ax: ax.plot([0, v]), [1, 2, 3, 4, 5], "nu", size=(5.5, 2.2),
                             figure_name="fig-ch9-nu", caption="Three values of nu.", alt="three lines")
    assert len(fig.axes) == 3 and shown_fraction(fig) >= plots.MIN_SHOWN
    assert len({round(ax.get_position().y0, 2) for ax in fig.axes}) == 3          # one panel a row
    assert glued == [("fig-ch9-nu", fig, False)]
    md = [o.data for o in shown if type(o).__name__ == "Markdown"]
    assert md == ["```{glue:figure} fig-ch9-nu\n:name: fig-ch9-nu\n:alt: three lines\n\nThree values of nu.\n```\n"]
    plt.close("all")


def test_figure_markdown_names_and_errors():
    from helpers import captions

    md = captions.figure_markdown("fig-ch1-drift", "DI against\n  β.", "lines rising")
    assert md.splitlines() == ["```{glue:figure} fig-ch1-drift", ":name: fig-ch1-drift", ":alt: lines rising", "",
                               "DI against β.", "```"]
    for bad in ("drift", "fig-drift", "fig-ch1-Drift", "fig-ch1-", "fig-ch1-a b"):
        with pytest.raises(ValueError, match="figure name must look like"):
            captions.figure_markdown(bad, "c", "a")
    with pytest.raises(ValueError, match="non-empty caption"):
        captions.figure_markdown("fig-ch1-a", "  ", "a")
    with pytest.raises(ValueError, match="matplotlib Figure"):
        captions.figure("not a figure", "fig-ch1-a", "c")


def test_live_kernel_figure_is_shown_with_its_caption(monkeypatch):
    from helpers import captions

    monkeypatch.delenv("HELPERS_STATIC", raising=False)
    shown = []
    monkeypatch.setattr("IPython.display.display", lambda *objs: shown.extend(objs))
    fig = plt.figure()
    captions.figure(fig, "fig-ch1-a", "A caption.")
    assert shown[0] is fig and shown[1].data == "*Figure `fig-ch1-a`.* A caption."
    assert not plt.fignum_exists(fig.number)           # closed: the inline backend does not show it twice
    plt.close("all")


def test_captioned_table_holds_its_caption_and_rounds():
    import pandas as pd

    from helpers import captions

    df = pd.DataFrame({"a": [1.234567, float("nan")], "b": ["x", "y"]})
    html = captions.table(df, "Table of a\nand b.").to_html()
    assert "<caption>Table of a and b.</caption>" in html
    assert "1.235" in html and "1.234567" not in html and "—" in html
    assert captions.table(df, "c", hide_index=True).to_html().count("row_heading") == 0
    mixed = pd.DataFrame({"paper": ["≈ 0", 0.0008799999999999999, 4.09e-16, True, 7]})
    cells = captions.table(mixed, "c").to_html()
    assert all(t in cells for t in ("≈ 0", "8.80e-04", "4.09e-16", "True", ">7</td>")) and "0.00087999" not in cells
    assert [captions.number(v) for v in (0.0, 87.93, 2.5e-4, 3.2e7, -1.0)] == ["0.000", "87.930", "2.50e-04",
                                                                              "3.20e+07", "-1.000"]
    wide = pd.DataFrame({f"c{i}": [1.0] for i in range(6)})
    assert "  width: 100%" in captions.table(wide, "c").to_html()               # 6 columns + the index
    assert "  width: 100%" not in captions.table(wide.iloc[:, :3], "c").to_html()
    with pytest.raises(ValueError, match="non-empty caption"):
        captions.table(df, " ")
    with pytest.raises(ValueError, match="DataFrame or a Styler"):
        captions.table([1, 2], "c")


def test_source_listing_wraps_and_is_highlighted():
    from helpers import captions

    out = captions.source_html(captions.is_static, "x = 1  # a string is code")
    assert out.startswith('<pre class="ls-source" style="white-space:pre-wrap')
    assert "is_static" in out and "a string is code" in out and "<span" in out
    with pytest.raises(ValueError, match="at least one"):
        captions.source_html()

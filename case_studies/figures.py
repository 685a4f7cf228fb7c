"""Figures of the case studies as PNG files, drawn by plotly.js in Debian's headless chromium (`./workbench test`
installs it): no kaleido download."""

from __future__ import annotations

from pathlib import Path

import plotly.graph_objects as go


def save_png(fig: go.Figure, path: Path, *, width: int = 1000, height: int | None = None) -> str:
    """The figure as a PNG, drawn by plotly.js in headless chromium (no kaleido download)."""
    from playwright.sync_api import sync_playwright

    height = height or fig.layout.height or 500
    fig.update_layout(width=width, height=height)
    html = fig.to_html(include_plotlyjs=True, full_html=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": width + 40, "height": height + 40})
        page.set_content(html)
        page.wait_for_selector(".main-svg")
        page.locator(".plotly-graph-div").first.screenshot(path=str(path))
        browser.close()
    return path.name

"""The portal's browser fixtures (support.py): Chromium, a page per test, a served home."""

from tests.integration.web.support import browser, chromium, page, portal_home

__all__ = ["browser", "chromium", "page", "portal_home"]

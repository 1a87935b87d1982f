"""Light and dark, following the OS, and the icons drawn to match.

Fusion with our own palettes on every platform: it draws the same on Windows, macOS and Linux, in both
schemes, offscreen too (the native Windows styles before 11 have no dark mode). The scheme follows
``QStyleHints.colorScheme`` live, unless the user picked one in View > Theme.

Icons are SVGs in ``resources/icons`` drawn in one colour, ``#000``; each is recoloured for the scheme
and rendered by ``QSvgRenderer`` at the size and device pixel ratio asked for, so they stay sharp on
high-DPI screens (no bitmaps are scaled).
"""

from __future__ import annotations

import enum
import functools
from pathlib import Path

from PySide6.QtCore import QByteArray, QObject, QRect, QRectF, QSize, Qt
from PySide6.QtGui import QAction, QColor, QGuiApplication, QIcon, QIconEngine, QPainter, QPalette, QPixmap
from PySide6.QtSvg import QSvgRenderer
from PySide6.QtWidgets import QAbstractButton, QApplication, QLineEdit, QPushButton

import resources

ICONS = Path(resources.__file__).parent / "icons"


class Scheme(enum.StrEnum):
    SYSTEM = "system"
    LIGHT = "light"
    DARK = "dark"


# Colours named for what they mean, per scheme: the few places that colour text by meaning use these.
_ROLES = {
    Scheme.LIGHT: {"icon": "#3b4350", "accent": "#2463c2", "good": "#1b7f3b", "warn": "#a15c00",
                   "bad": "#c0262d", "muted": "#6b7280", "pending": "#c27a00", "nav": "#eef1f5",
                   "banner": "#fdecec", "banner_text": "#8a1c21", "header": "#f4f6f9"},
    Scheme.DARK: {"icon": "#c9d1dc", "accent": "#6ea8ff", "good": "#5cc37b", "warn": "#e3a94b",
                  "bad": "#ff7b7f", "muted": "#9aa3ae", "pending": "#f0b03c", "nav": "#1d2127",
                  "banner": "#4a2326", "banner_text": "#ffd6d8", "header": "#2a2f37"},
}


def _palette(scheme: Scheme) -> QPalette:
    p = QPalette()
    role, group = QPalette.ColorRole, QPalette.ColorGroup
    if scheme is Scheme.DARK:
        colours = {role.Window: "#24282e", role.WindowText: "#e6e9ee", role.Base: "#1a1d22",
                   role.AlternateBase: "#20242a", role.ToolTipBase: "#30353d", role.ToolTipText: "#e6e9ee",
                   role.Text: "#e6e9ee", role.Button: "#2d3239", role.ButtonText: "#e6e9ee",
                   role.BrightText: "#ffffff", role.Highlight: "#2f5d9e", role.HighlightedText: "#ffffff",
                   role.Link: "#6ea8ff", role.PlaceholderText: "#8a929c", role.Light: "#3a4048",
                   role.Midlight: "#32373f", role.Mid: "#25292f", role.Dark: "#15171a", role.Shadow: "#000000"}
        disabled = "#6c737c"
    else:
        colours = {role.Window: "#f6f7f9", role.WindowText: "#1f2328", role.Base: "#ffffff",
                   role.AlternateBase: "#f7f8fa", role.ToolTipBase: "#ffffff", role.ToolTipText: "#1f2328",
                   role.Text: "#1f2328", role.Button: "#f3f4f6", role.ButtonText: "#1f2328",
                   role.BrightText: "#ffffff", role.Highlight: "#cfe0fb", role.HighlightedText: "#10233f",
                   role.Link: "#2463c2", role.PlaceholderText: "#7b828c", role.Light: "#ffffff",
                   role.Midlight: "#e9ebef", role.Mid: "#c9ced6", role.Dark: "#a3a9b3", role.Shadow: "#6b7280"}
        disabled = "#9aa0a8"
    for which, colour in colours.items():
        p.setColor(which, QColor(colour))
    for which in (role.WindowText, role.Text, role.ButtonText, role.HighlightedText):
        p.setColor(group.Disabled, which, QColor(disabled))
    return p


class Theme(QObject):
    """The application's current scheme; ``changed`` lets views recolour what they draw themselves."""

    def __init__(self, app: QApplication, preference: Scheme = Scheme.SYSTEM):
        super().__init__(app)
        self.app = app
        self.preference = preference
        self.scheme = Scheme.LIGHT
        app.setStyle("Fusion")
        QGuiApplication.styleHints().colorSchemeChanged.connect(lambda _scheme: self.apply())
        self.apply()

    def resolved(self) -> Scheme:
        if self.preference is not Scheme.SYSTEM:
            return self.preference
        os_scheme = QGuiApplication.styleHints().colorScheme()
        return Scheme.DARK if os_scheme == Qt.ColorScheme.Dark else Scheme.LIGHT

    def set_preference(self, preference: Scheme) -> None:
        self.preference = preference
        self.apply()

    def apply(self) -> None:
        global _current
        self.scheme = self.resolved()
        _current = self.scheme
        icon.cache_clear()
        self.app.setPalette(_palette(self.scheme))
        self.app.setStyleSheet(_style_sheet(self.scheme))
        for widget in self.app.allWidgets():
            # Icons drawn for the old scheme: every button and action that asked for one by name.
            name = widget.property(_ICON_PROPERTY)
            if name and isinstance(widget, QAbstractButton):
                widget.setIcon(icon(*name.split(":")))
            for action in widget.actions():
                name = action.property(_ICON_PROPERTY)
                if name:
                    action.setIcon(icon(*name.split(":")))
        for widget in self.app.topLevelWidgets():
            refresh = getattr(widget, "theme_changed", None)
            if refresh is not None:
                refresh()


_current = Scheme.LIGHT


def current() -> Scheme:
    return _current


def colour(name: str) -> QColor:
    return QColor(_ROLES[_current][name])


def _style_sheet(scheme: Scheme) -> str:
    r = _ROLES[scheme]
    # Only what the palette cannot say: the navigation pane's tint, the error banner, table headers.
    return f"""
    QListWidget#navigation {{ background: {r['nav']}; border: none; padding-top: 8px; outline: 0; }}
    QListWidget#navigation::item {{ padding: 0 10px; border-radius: 5px; margin: 1px 8px; }}
    QListWidget#navigation::item:selected {{ background: palette(highlight); color: palette(highlighted-text); }}
    QLabel#banner {{ background: {r['banner']}; color: {r['banner_text']}; border-radius: 4px; padding: 6px 10px; }}
    QLabel#viewTitle {{ font-size: 15pt; font-weight: 600; }}
    QLabel#muted {{ color: {r['muted']}; }}
    QLabel#total {{ font-weight: 600; }}
    QHeaderView::section {{ background: {r['header']}; padding: 4px 6px; border: none;
                            border-right: 1px solid palette(mid); border-bottom: 1px solid palette(mid); }}
    QTableView {{ gridline-color: palette(midlight); }}
    QToolBar {{ spacing: 4px; padding: 3px; }}
    QStatusBar QLabel {{ padding: 0 6px; }}
    """


class _SvgEngine(QIconEngine):
    def __init__(self, svg: bytes, disabled: bytes):
        super().__init__()
        self._normal = QSvgRenderer(QByteArray(svg))
        self._disabled = QSvgRenderer(QByteArray(disabled))
        self._svg, self._disabled_svg = svg, disabled

    def paint(self, painter: QPainter, rect: QRect, mode: QIcon.Mode, state: QIcon.State) -> None:
        renderer = self._disabled if mode == QIcon.Mode.Disabled else self._normal
        renderer.render(painter, QRectF(rect))

    def pixmap(self, size: QSize, mode: QIcon.Mode, state: QIcon.State) -> QPixmap:
        pixmap = QPixmap(size)
        pixmap.fill(Qt.GlobalColor.transparent)
        painter = QPainter(pixmap)
        self.paint(painter, QRect(0, 0, size.width(), size.height()), mode, state)
        painter.end()
        return pixmap

    def scaledPixmap(self, size: QSize, mode: QIcon.Mode, state: QIcon.State, scale: float) -> QPixmap:
        # Drawn at device pixels: sharp at 125 %, 150 %, 200 % without scaling a bitmap.
        pixmap = self.pixmap(QSize(round(size.width() * scale), round(size.height() * scale)), mode, state)
        pixmap.setDevicePixelRatio(scale)
        return pixmap

    def clone(self) -> QIconEngine:
        return _SvgEngine(self._svg, self._disabled_svg)


@functools.lru_cache(maxsize=128)
def icon(name: str, role: str = "icon") -> QIcon:
    """The icon ``name`` (resources/icons/NAME.svg) in the scheme's colour for ``role``."""
    text = (ICONS / f"{name}.svg").read_text(encoding="utf-8")
    normal = text.replace("#000", _ROLES[_current][role]).encode()
    disabled = text.replace("#000", _ROLES[_current]["muted"]).encode()
    return QIcon(_SvgEngine(normal, disabled))


_ICON_PROPERTY = "themeIcon"


def button(name: str, text: str, role: str = "icon") -> QPushButton:
    """A push button whose icon follows the scheme."""
    made = QPushButton(icon(name, role), text)
    made.setProperty(_ICON_PROPERTY, f"{name}:{role}")
    return made


def themed(target: QAction | QAbstractButton, name: str, role: str = "icon") -> None:
    """Give an action or button the icon ``name``, redrawn when the scheme changes."""
    target.setIcon(icon(name, role))
    target.setProperty(_ICON_PROPERTY, f"{name}:{role}")


def leading_icon(line_edit: QLineEdit, name: str, role: str = "muted") -> None:
    """A small icon inside a line edit, before the text (a search box's magnifier)."""
    themed(line_edit.addAction(icon(name, role), QLineEdit.ActionPosition.LeadingPosition), name, role)


def app_icon() -> QIcon:
    return QIcon(str(ICONS / "ledgerdesk.svg"))

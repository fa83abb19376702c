"""Shared GUI fixture: a shown main window, closed (and its GL context released) after the test."""

import pytest

from tmsnav.app.main_window import MainWindow


@pytest.fixture
def window(qtbot):
    w = MainWindow()
    qtbot.addWidget(w)
    w.resize(1400, 900)
    w.show()
    qtbot.waitExposed(w)
    yield w
    w.close()

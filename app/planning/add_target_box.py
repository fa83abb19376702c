"""The "Add a target" group: choose the method, fill its small form, name it, press Add."""

from __future__ import annotations

from PySide6 import QtCore, QtWidgets

from .landmarks_box import LandmarksBox
from .method_forms import BeamForm, FiveCmForm, LiteratureForm, ManualForm, MethodForm, TenTwentyForm, compact

__all__ = ["AddTargetBox", "METHODS"]

METHODS = ("literature", "ten_twenty", "beam", "five_cm", "manual")


class AddTargetBox(QtWidgets.QGroupBox):
    addRequested = QtCore.Signal()

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__("Add a target", parent)
        self.setObjectName("add_target_box")
        layout = QtWidgets.QVBoxLayout(self)
        self.manual_form = ManualForm()       # typed: the cursor readout is the manual form's alone
        self.forms: dict[str, MethodForm] = {"literature": LiteratureForm(), "ten_twenty": TenTwentyForm(),
                                             "beam": BeamForm(), "five_cm": FiveCmForm(), "manual": self.manual_form}
        self.method = compact(QtWidgets.QComboBox())
        self.method.setObjectName("target_method")
        self.stack = QtWidgets.QStackedWidget()
        for key in METHODS:
            self.method.addItem(self.forms[key].title, key)
            self.stack.addWidget(self.forms[key])
        self.method.currentIndexChanged.connect(self._method_changed)
        layout.addWidget(self.method)
        layout.addWidget(self.stack)
        self.landmarks = LandmarksBox()
        layout.addWidget(self.landmarks)
        row = QtWidgets.QHBoxLayout()
        self.name = QtWidgets.QLineEdit()
        self.name.setObjectName("target_name")
        self.name.setPlaceholderText("name (optional)")
        self.add_button = QtWidgets.QPushButton("Add target")
        self.add_button.setObjectName("add_target")
        self.add_button.clicked.connect(self.addRequested)
        row.addWidget(self.name, 1)
        row.addWidget(self.add_button)
        layout.addLayout(row)
        self._method_changed()

    def choose(self, method: str) -> None:
        self.method.setCurrentIndex(self.method.findData(method))

    @property
    def current_method(self) -> str:
        return self.method.currentData()

    @property
    def current_form(self) -> MethodForm:
        return self.forms[self.current_method]

    def _method_changed(self) -> None:
        key = self.current_method
        self.stack.setCurrentWidget(self.forms[key])
        self.landmarks.setVisible(key in ("ten_twenty", "beam", "five_cm"))
        # the stacked widget takes the height of its tallest page unless told otherwise
        for k, form in self.forms.items():
            policy = QtWidgets.QSizePolicy.Policy.Preferred if k == key else QtWidgets.QSizePolicy.Policy.Ignored
            form.setSizePolicy(QtWidgets.QSizePolicy.Policy.Preferred, policy)
        self.stack.adjustSize()

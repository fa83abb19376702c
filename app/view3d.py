"""The 3-D head view: scalp over brain, the shared cursor, click-to-pick, and named overlays.

Everything is drawn in ``mri`` mm. Other panels add overlays (tool glyphs, targets, e-field) by
name through :meth:`HeadView3D.set_overlay`, so this widget stays free of their logic.
MSAA is off under software GL (llvmpipe) because it costs ~4x frame rate; FXAA smooths edges.
"""

from __future__ import annotations

import os
from typing import Any, cast

import numpy as np
import pyvista as pv
import vtk
from pyvistaqt import QtInteractor
from PySide6 import QtCore, QtWidgets

from .view3d_lod import SurfaceLod

__all__ = ["HeadView3D"]

SCALP_COLOR = "#e8c4a8"
BRAIN_COLOR = "#f0a0a0"
CLICK_TOLERANCE_PX = 4
#: Opacity of the target markers while pulses are drawn (see HeadView3D.set_overlay): the pulses
#: inside the active target's 5 mm ball show through it, the ball stays plainly visible.
SEE_THROUGH_OPACITY = 0.35


class HeadView3D(QtWidgets.QWidget):
    cursorPicked = QtCore.Signal(object)  # np.ndarray (3,) mri mm

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("view3d")
        samples = int(os.environ.get("TMSNAV_MULTI_SAMPLES", "0"))
        # One headlight: software GL (llvmpipe) shades every light per pixel, and pyvista's default
        # 5-light kit halves the frame rate for no clinical gain (benchmarks/surface.py).
        # Any: pyvista's positional-argument decorator hides its methods' signatures from mypy
        # (it reads every call as missing ``self``), so the plotter is used untyped.
        self.plotter: Any = cast(Any, QtInteractor(self, multi_samples=samples, auto_update=False,
                                                   lighting="none"))
        self.plotter.add_light(pv.Light(light_type="headlight"))
        if os.environ.get("TMSNAV_GL_NATIVE_WINDOW", "1") != "0":
            # The GL view in a native child window of its own: a QOpenGLWidget in a plain widget
            # tree makes Qt compose the WHOLE top-level window with OpenGL on every repaint of
            # anything in it (each guidance number, each 3-D frame); under software GL at
            # 1366x768 that composition cost ~11 ms of the GUI thread per frame, as much as half
            # the 3-D render. Native, only the view's own area is composed and the other widgets
            # flush their dirty rectangles (a label repaint: 11 -> 0.2 ms; benchmarks/treatment.py).
            gl = self.plotter.interactor
            gl.setAttribute(QtCore.Qt.WidgetAttribute.WA_DontCreateNativeAncestors)
            gl.setAttribute(QtCore.Qt.WidgetAttribute.WA_NativeWindow)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.plotter.interactor)
        # A solid background and a line-shaft orientation marker: under llvmpipe the gradient
        # costs ~15 % and the default tube-and-cone axes ~10 % of every frame (benchmarks/surface.py).
        self.plotter.set_background("#252c3c")
        self._fxaa = os.environ.get("TMSNAV_FXAA", "auto")  # "auto": off under software GL
        if self._fxaa != "0":
            self.plotter.enable_anti_aliasing("fxaa")
        axes = self.plotter.add_axes(xlabel="R", ylabel="A", zlabel="S", line_width=3,
                                     viewport=(0, 0, 0.16, 0.16))
        axes.SetShaftTypeToLine()
        axes.SetConeResolution(8)
        self._actors: dict[str, Any] = {}  # VTK actors by overlay name
        self._see_through: set[str] = set()   # markers see-through while a pulse cloud is drawn
        self._clouds: set[str] = set()        # pulse clouds (see set_overlay)
        self._scalp_opacity = 1.0
        self._brain_visible = True
        self._banner_text = ""
        self._brain_legend = ""
        self._press_pos: tuple[int, int] | None = None
        self._picker = vtk.vtkCellPicker()
        self._picker.SetTolerance(0.0005)
        self._cursor = np.zeros(3)
        iren = self.plotter.iren
        iren.add_observer("LeftButtonPressEvent", self._on_press)
        iren.add_observer("LeftButtonReleaseEvent", self._on_release)
        # light proxies of the large surfaces while the camera moves (view3d_lod.py)
        self.lod = SurfaceLod(self.plotter)
        style = iren.interactor.GetInteractorStyle()
        if style is not None:
            style.AddObserver("StartInteractionEvent", lambda *_: self.begin_interaction())
            style.AddObserver("EndInteractionEvent", lambda *_: self.end_interaction())

    # ----- surfaces -----------------------------------------------------------------------
    def _adapt_to_gl(self) -> None:
        """Under software GL (Mesa llvmpipe) FXAA costs ~25 % of every frame: turn it off."""
        if self._fxaa != "auto":
            return
        self._fxaa = "checked"
        try:
            caps = self.plotter.render_window.ReportCapabilities() or ""
        except Exception:  # noqa: BLE001 - a report we cannot read changes nothing
            return
        if "llvmpipe" in caps or "softpipe" in caps:
            self.plotter.disable_anti_aliasing()

    def set_surfaces(self, scalp: pv.PolyData | None, brain: pv.PolyData | None,
                     reset_camera: bool = True) -> None:
        self._adapt_to_gl()
        for name in ("scalp", "brain"):
            self._remove(name)
            self.lod.remove(name)
        # Both surfaces are closed with outward faces, so back faces are never visible from
        # outside: culling them halves the fragments to shade (20 -> 38 FPS at 200k triangles
        # under llvmpipe, benchmarks/surface.py). A translucent scalp then shows its near side only.
        if brain is not None and brain.n_points:
            self._actors["brain"] = self.plotter.add_mesh(
                brain, color=BRAIN_COLOR, smooth_shading=True, specular=0.2, name="brain",
                pickable=True, render=False, culling="back")
            self.lod.add("brain", self._actors["brain"], brain)
        if scalp is not None and scalp.n_points:
            self._actors["scalp"] = self.plotter.add_mesh(
                scalp, color=SCALP_COLOR, smooth_shading=True, specular=0.1, name="scalp",
                opacity=self._scalp_opacity, pickable=True, render=False, culling="back")
            self.lod.add("scalp", self._actors["scalp"], scalp)
        self._update_brain_visibility()
        if reset_camera:
            self.view_from("front_left")
        self.request_render()

    def set_brain_visible(self, on: bool) -> None:
        self._brain_visible = bool(on)
        self._update_brain_visibility()
        self.request_render()

    def _update_brain_visibility(self) -> None:
        """The brain is drawn only when the user wants it and the scalp lets it show through:
        an opaque scalp hides it anyway, and skipping it halves the triangles to draw. (Also
        shows each surface's full or light version, see :meth:`begin_interaction`.)"""
        scalp = self._actors.get("scalp")
        if scalp is not None:
            self.lod.show("scalp", scalp, self._scalp_opacity > 0.01)
        brain = self._actors.get("brain")
        if brain is not None:
            hidden_by_scalp = scalp is not None and self._scalp_opacity >= 0.99
            self.lod.show("brain", brain, self._brain_visible and not hidden_by_scalp)

    def begin_interaction(self) -> None:
        """The camera starts moving (mouse drag or wheel): draw the light surface proxies."""
        if not self.lod.interacting:
            self.lod.interacting = True
            self._update_brain_visibility()

    def end_interaction(self) -> None:
        """The camera stopped: the full surfaces again, rendered once."""
        if self.lod.interacting:
            self.lod.interacting = False
            self._update_brain_visibility()
            self.request_render()

    def triangles_drawn(self) -> int:
        """Surface triangles the next render draws (scalp + brain, proxies while interacting)."""
        return sum(self.lod.triangles_drawn(name, self._actors[name])
                   for name in ("scalp", "brain") if name in self._actors)

    def set_scalp_opacity(self, opacity: float) -> None:
        """0 = scalp hidden (brain visible), 1 = opaque scalp. The scalp stops being pickable
        when nearly transparent so clicks reach the brain."""
        self._scalp_opacity = float(np.clip(opacity, 0.0, 1.0))
        actor = self._actors.get("scalp")
        if actor is not None:
            actor.GetProperty().SetOpacity(self._scalp_opacity)
            actor.SetPickable(self._scalp_opacity > 0.3)
        self._update_brain_visibility()
        self.request_render()

    @property
    def scalp_opacity(self) -> float:
        return self._scalp_opacity

    # ----- cursor -------------------------------------------------------------------------
    def set_cursor(self, mri_mm: np.ndarray) -> None:
        self._cursor = np.asarray(mri_mm, float)
        if "cursor" not in self._actors:
            self._build_cursor()
        matrix = np.eye(4)
        matrix[:3, 3] = self._cursor
        self._actors["cursor"].user_matrix = matrix
        self.request_render()

    def _build_cursor(self, size_mm: float = 12.0) -> None:
        """A 3-axis cross with a dot, built once at the origin and moved by its user matrix."""
        pts = np.zeros((6, 3))
        for axis in range(3):
            pts[2 * axis, axis], pts[2 * axis + 1, axis] = -size_mm, size_mm
        cross = pv.PolyData(pts, lines=np.array([2, 0, 1, 2, 2, 3, 2, 4, 5]))
        glyph = cross.merge(pv.Sphere(radius=2.0))
        self._actors["cursor"] = self.plotter.add_mesh(
            glyph, color="#00ff00", line_width=3, name="cursor", pickable=False, render=False)

    @property
    def cursor_mm(self) -> np.ndarray:
        """The 3-D cursor in mri mm (not ``cursor``: that is QWidget's mouse cursor)."""
        return self._cursor.copy()

    # ----- overlays (tools, targets, field maps) ------------------------------------------
    def set_overlay(self, name: str, mesh: pv.DataSet | None, render: bool = True, *,
                    see_through: bool = False, cloud: bool = False, **kwargs: Any) -> None:
        """Add or replace a named overlay; ``mesh=None`` removes it. kwargs go to add_mesh;
        ``render=False`` lets a caller batch one render for several changes.

        ``cloud=True`` marks a point cloud of pulses and ``see_through=True`` a marker that turns
        see-through while any cloud is drawn: the target's 5 mm ball otherwise hides exactly
        the pulses that landed on target, leaving only the ones that drifted visible."""
        self._remove(name)
        if mesh is not None and mesh.n_points:
            kwargs.setdefault("pickable", False)
            self._actors[name] = self.plotter.add_mesh(mesh, name=name, render=False, **kwargs)
            if see_through:
                self._see_through.add(name)
            if cloud:
                self._clouds.add(name)
        self._update_see_through()
        if render:
            self.request_render()

    def _update_see_through(self) -> None:
        shown = any(name in self._actors for name in self._clouds)
        for name in self._see_through:
            actor = self._actors.get(name)
            if actor is not None:
                actor.GetProperty().SetOpacity(SEE_THROUGH_OPACITY if shown else 1.0)

    def marker_opacity(self, name: str) -> float | None:
        """The drawn opacity of overlay ``name`` (None when not drawn)."""
        actor = self._actors.get(name)
        return None if actor is None else float(actor.GetProperty().GetOpacity())

    def set_overlay_actor(self, name: str, actor: vtk.vtkProp | None) -> None:
        """Add or replace a named overlay that is a ready VTK prop (e.g. a label actor its owner
        updates in place); None removes it. No render: the owner renders after its update."""
        self._remove(name)
        if actor is not None:
            self.plotter.add_actor(actor, name=name, reset_camera=False, pickable=False, render=False)
            self._actors[name] = actor

    def set_overlay_matrix(self, name: str, matrix: np.ndarray | None, render: bool = True) -> bool:
        """Move an overlay by a 4x4 (mri_from_object) without rebuilding it; None hides it.
        Returns whether anything changed; ``render=False`` lets a caller batch one render."""
        actor = self._actors.get(name)
        if actor is None:
            return False
        if matrix is None:
            changed = bool(actor.GetVisibility())
            actor.SetVisibility(False)
        else:
            matrix = np.asarray(matrix, float)
            changed = not actor.GetVisibility() or not np.array_equal(actor.user_matrix, matrix)
            actor.SetVisibility(True)
            actor.user_matrix = matrix
        if changed and render:
            self.request_render()
        return changed

    def set_brain_legend(self, text: str) -> None:
        """A small legend in the lower right naming the brain surface's source (e.g. "Brain:
        approximate, from the template"); empty text removes it."""
        self._brain_legend = text
        self.plotter.remove_actor("brain_legend", render=False)
        if text:
            self.plotter.add_text(text, position="lower_right", font_size=9, color=BRAIN_COLOR,
                                  name="brain_legend", render=False)   # pyvista renders now by default
        self.request_render()

    @property
    def brain_legend(self) -> str:
        return self._brain_legend

    def set_banner(self, text: str, color: str = "#ff5252") -> None:
        """A large warning at the top of the view (e.g. TRACKING INVALID); empty text removes it."""
        if text == self._banner_text:
            return
        self._banner_text = text
        self.plotter.remove_actor("banner", render=False)
        if text:
            self.plotter.add_text(text, position="upper_edge", font_size=14, color=color,
                                  name="banner", shadow=True, render=False)
        self.request_render()

    @property
    def banner(self) -> str:
        return self._banner_text

    def has_overlay(self, name: str) -> bool:
        return name in self._actors

    def _remove(self, name: str) -> None:
        self._see_through.discard(name)
        self._clouds.discard(name)
        if self._actors.pop(name, None) is not None:
            self.plotter.remove_actor(name, render=False)

    # ----- camera -------------------------------------------------------------------------
    def view_from(self, where: str) -> None:
        """Preset cameras in patient terms (RAS): front, left, right, top, back, front_left."""
        directions = {"front": (0, 1, 0), "back": (0, -1, 0), "left": (-1, 0, 0),
                      "right": (1, 0, 0), "top": (0, 0, 1), "front_left": (-0.7, 1, 0.45)}
        d = np.asarray(directions[where], float)
        d /= np.linalg.norm(d)
        bounds = self.plotter.bounds
        centre = np.array([(bounds[0] + bounds[1]) / 2, (bounds[2] + bounds[3]) / 2,
                           (bounds[4] + bounds[5]) / 2])
        up = (0, 1, 0) if where == "top" else (0, 0, 1)
        self.plotter.camera_position = [tuple(centre + 600 * d), tuple(centre), up]
        self.plotter.reset_camera()
        self.request_render()

    def request_render(self) -> None:
        """Schedule one repaint (not named ``render``: that is QWidget's paint-into-a-device).
        pyvistaqt's paintGL always renders, so calling the plotter's render() directly renders
        twice (once now, once in the repaint it triggers); a Qt update is coalesced and renders
        once (measured: GUI ticks 8 -> ~20 per second under llvmpipe)."""
        self.plotter.interactor.update()

    def render_now(self) -> None:
        """Render synchronously (screenshots, tests that read pixels)."""
        self.plotter.render()

    # ----- picking ------------------------------------------------------------------------
    def pick_at(self, x: int, y: int) -> np.ndarray | None:
        """Surface point under VTK display position (x, y) (origin bottom-left), or None."""
        if not self._picker.Pick(x, y, 0, self.plotter.renderer):
            return None
        if self._picker.GetCellId() < 0:
            return None
        return np.asarray(self._picker.GetPickPosition(), float)

    def world_to_display(self, mri_mm: np.ndarray) -> tuple[float, float]:
        r = self.plotter.renderer
        r.SetWorldPoint(*np.asarray(mri_mm, float), 1.0)
        r.WorldToDisplay()
        x, y, _ = r.GetDisplayPoint()
        return x, y

    def _on_press(self, *_: object) -> None:
        self._press_pos = self.plotter.iren.get_event_position()

    def _on_release(self, *_: object) -> None:
        start, self._press_pos = self._press_pos, None
        if start is None:
            return
        end = self.plotter.iren.get_event_position()
        if abs(end[0] - start[0]) + abs(end[1] - start[1]) > CLICK_TOLERANCE_PX:
            return  # that was a rotation drag, not a click
        point = self.pick_at(*end)
        if point is not None:
            self.cursorPicked.emit(point)

    def close_plotter(self) -> None:
        """Release the GL context; call from the main window's closeEvent.

        pyvistaqt 0.13 keeps the wrapper of the context's ``QSurface`` after ``close()``; QSurface
        is no QObject, so PySide6 never learns when Qt deletes it and hands that stale wrapper
        out for the next object made at the same address (CI once got a "QSurface" back from
        ``QMainWindow.statusBar()``). Dropping the references frees the wrapper with its object."""
        self.plotter.close()
        gl = self.plotter.interactor
        for name in ("_surface", "_ctx", "_gl"):   # pyvistaqt's own names (rwi.py, 0.13.1)
            if getattr(gl, name, None) is not None:
                setattr(gl, name, None)

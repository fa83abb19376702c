"""Level of detail for the 3-D view: a light proxy of each large surface while the camera moves.

Under software OpenGL (Mesa llvmpipe, the 2-core clinic laptop) a 200k-triangle scalp renders
at ~12-40 frames per second depending on the machine's load, which makes rotating the head
stutter. While the user drags (rotate, pan, zoom: VTK's ``StartInteractionEvent`` ..
``EndInteractionEvent`` of the interactor style) each surface above ``LOD_MIN_TRIANGLES`` is
drawn by a proxy of ~35k triangles; the full surface comes back, and is rendered once, when the
mouse is released. Still images (screenshots, clicks, tracking updates) always show the full
surface. The same idea as VTK's ``vtkLODActor``, whose low levels are point clouds and outlines;
here the proxy is a surface made by vertex clustering (``vtkQuadricClustering``, Lindstrom 2000,
"Out-of-core simplification of large polygonal models"), which takes ~50 ms for 200k
triangles where quadric decimation takes ~1.6 s. The proxy shares the full actor's property, so
opacity and colour changes apply to both.
"""

from __future__ import annotations

from typing import Any

import pyvista as pv
import vtk

__all__ = ["proxy_mesh", "SurfaceLod", "LOD_MIN_TRIANGLES", "LOD_DIVISIONS"]

LOD_MIN_TRIANGLES = 60_000    # smaller surfaces render fast enough as they are
LOD_DIVISIONS = 64            # clustering grid per axis: ~3 mm cells on a head, ~35k triangles


def proxy_mesh(mesh: pv.PolyData, divisions: int = LOD_DIVISIONS) -> pv.PolyData:
    """A vertex-clustered copy of ``mesh`` with point normals (for smooth shading)."""
    clustering = vtk.vtkQuadricClustering()
    clustering.SetInputData(mesh)
    clustering.AutoAdjustNumberOfDivisionsOff()
    clustering.SetNumberOfDivisions(divisions, divisions, divisions)
    clustering.Update()
    proxy = pv.wrap(clustering.GetOutput())
    return proxy.compute_normals(cell_normals=False, point_normals=True, split_vertices=False,
                                 consistent_normals=False, auto_orient_normals=False)


class SurfaceLod:
    """Proxy actors of the large surfaces and which one is shown (see the module docstring)."""

    def __init__(self, plotter: Any) -> None:
        self.plotter = plotter
        self.proxies: dict[str, Any] = {}
        self.interacting = False

    def add(self, name: str, full_actor: Any, mesh: pv.PolyData) -> None:
        """Give ``name`` a proxy actor when ``mesh`` is large (none otherwise)."""
        self.remove(name)
        if mesh.n_cells < LOD_MIN_TRIANGLES:
            return
        proxy = self.plotter.add_mesh(proxy_mesh(mesh), name=f"{name}_lod", pickable=False, render=False,
                                      reset_camera=False)
        proxy.SetProperty(full_actor.GetProperty())     # colour, opacity, culling, shading
        proxy.SetVisibility(False)
        self.proxies[name] = proxy

    def remove(self, name: str) -> None:
        if self.proxies.pop(name, None) is not None:
            self.plotter.remove_actor(f"{name}_lod", render=False)

    def show(self, name: str, full_actor: Any, visible: bool) -> None:
        """Show the surface (the proxy while interacting, else the full one) or hide both."""
        proxy = self.proxies.get(name)
        use_proxy = self.interacting and proxy is not None
        full_actor.SetVisibility(visible and not use_proxy)
        if proxy is not None:
            proxy.SetVisibility(visible and use_proxy)

    def triangles_drawn(self, name: str, full_actor: Any) -> int:
        """Triangles of what ``name`` shows now (tests and the benchmark)."""
        proxy = self.proxies.get(name)
        actor = proxy if proxy is not None and proxy.GetVisibility() else full_actor
        return int(actor.GetMapper().GetInput().GetNumberOfCells()) if actor.GetVisibility() else 0

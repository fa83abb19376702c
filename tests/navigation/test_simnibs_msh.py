"""SimNIBS head meshes (gmsh MSH 2.2, ASCII and binary) written by hand from the published format
description, read back by navigation/surfaces/simnibs_msh.py: the grey-matter surface (tag 1002) only."""

import struct

import numpy as np
import pytest
import pyvista as pv

from tmsnav.navigation.surfaces.simnibs_msh import MshError, read_msh_surface


def _spheres():
    """Two closed spheres: GM (r 70 mm, tag 1002) and scalp (r 90 mm, tag 1005) around c, plus a
    few tetrahedra (tag 2) and a point element; node numbers start at 101 with gaps."""
    c = np.array([3.0, -12.0, 25.0])
    gm, scalp = pv.Icosphere(radius=70.0, center=c, nsub=3), pv.Icosphere(radius=90.0, center=c, nsub=2)
    xyz = np.vstack([gm.points, scalp.points])
    ids = 101 + 2 * np.arange(len(xyz))                      # not contiguous, not from 1
    elements = []
    for faces, offset, tag in ((gm.regular_faces, 0, 1002), (scalp.regular_faces, gm.n_points, 1005)):
        elements += [(2, [tag, tag], list(ids[f + offset])) for f in faces]
    elements += [(4, [2, 2], list(ids[[0, 1, 2, gm.n_points]])) for _ in range(3)]
    elements.append((15, [7, 7], [int(ids[0])]))
    return c, ids, xyz, elements


def write_ascii(path, ids, xyz, elements):
    lines = ["$MeshFormat", "2.2 0 8", "$EndMeshFormat",
             "$PhysicalNames", "1", '2 1002 "gm surface"', "$EndPhysicalNames",
             "$Nodes", str(len(ids))]
    lines += [f"{i} {float(x)!r} {float(y)!r} {float(z)!r}" for i, (x, y, z) in zip(ids, xyz)]
    lines += ["$EndNodes", "$Elements", str(len(elements))]
    lines += [" ".join(str(v) for v in [n + 1, t, len(tags), *tags, *nodes])
              for n, (t, tags, nodes) in enumerate(elements)]
    lines += ["$EndElements", "$ElementData", "1", '"tag"', "0", "3", "0", "1", str(len(elements))]
    lines += [f"{n + 1} 0.0" for n in range(len(elements))] + ["$EndElementData"]
    path.write_text("\n".join(lines) + "\n")


def write_binary(path, ids, xyz, elements, endian="<"):
    out = bytearray(b"$MeshFormat\n2.2 1 8\n" + struct.pack(endian + "i", 1) + b"\n$EndMeshFormat\n")
    out += f"$Nodes\n{len(ids)}\n".encode()
    for i, p in zip(ids, xyz):
        out += struct.pack(endian + "iddd", int(i), *map(float, p))
    out += f"\n$EndNodes\n$Elements\n{len(elements)}\n".encode()
    number = 1
    for etype in sorted({e[0] for e in elements}):          # one block per element type
        block = [e for e in elements if e[0] == etype]
        out += struct.pack(endian + "iii", etype, len(block), len(block[0][1]))
        for _, tags, nodes in block:
            out += struct.pack(endian + f"{1 + len(tags) + len(nodes)}i", number, *tags, *map(int, nodes))
            number += 1
    out += b"\n$EndElements\n"
    path.write_bytes(bytes(out))


@pytest.mark.parametrize("kind", ["ascii", "binary-little", "binary-big"])
def test_grey_matter_surface_is_read_from_ascii_and_binary(tmp_path, kind):
    c, ids, xyz, elements = _spheres()
    path = tmp_path / f"m2m_{kind}.msh"
    if kind == "ascii":
        write_ascii(path, ids, xyz, elements)
    else:
        write_binary(path, ids, xyz, elements, "<" if kind.endswith("little") else ">")
    points, faces = read_msh_surface(path)
    gm = pv.Icosphere(radius=70.0, center=c, nsub=3)
    assert len(points) == gm.n_points and len(faces) == gm.n_cells   # scalp and tetra nodes dropped
    np.testing.assert_allclose(np.linalg.norm(points - c, axis=1), 70.0, atol=1e-4)
    mesh = pv.PolyData.from_regular_faces(points, faces)
    assert mesh.n_open_edges == 0
    np.testing.assert_allclose(mesh.volume, gm.volume, rtol=1e-6)
    scalp_points, _ = read_msh_surface(path, tag=1005)
    np.testing.assert_allclose(np.linalg.norm(scalp_points - c, axis=1), 90.0, atol=1e-4)


def test_damaged_and_wrong_files_are_refused_with_a_reason(tmp_path):
    c, ids, xyz, elements = _spheres()
    good = tmp_path / "good.msh"
    write_binary(good, ids, xyz, elements)
    truncated = tmp_path / "truncated.msh"
    truncated.write_bytes(good.read_bytes()[: len(good.read_bytes()) // 2])
    with pytest.raises(MshError, match="truncated"):
        read_msh_surface(truncated)
    no_gm = tmp_path / "no_gm.msh"
    write_ascii(no_gm, ids, xyz, [e for e in elements if 1002 not in e[1]])
    with pytest.raises(MshError, match="no triangles tagged 1002.*1005"):
        read_msh_surface(no_gm)
    v4 = tmp_path / "v4.msh"
    v4.write_text("$MeshFormat\n4.1 0 8\n$EndMeshFormat\n")
    with pytest.raises(MshError, match="4.1 is not supported"):
        read_msh_surface(v4)
    text = tmp_path / "notes.msh"
    text.write_text("hello\n")
    with pytest.raises(MshError, match="not a gmsh"):
        read_msh_surface(text)
    dangling = tmp_path / "dangling.msh"
    write_ascii(dangling, ids[:-5], xyz[:-5], elements)
    with pytest.raises(MshError, match="nodes that do not exist"):
        read_msh_surface(dangling, tag=1005)

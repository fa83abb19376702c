"""Read the grey-matter surface of a SimNIBS head mesh (gmsh ``.msh`` format 2.2, ASCII or binary).

SimNIBS (``charm``/``headreco``) writes its head model as a gmsh MSH 2.2 file: tetrahedra for the
tissue volumes (tags 1 WM, 2 GM, 3 CSF, ...) and triangles for the tissue boundaries, tagged
``1000 + tissue``; **1002 is the grey-matter (pial) surface** in SimNIBS 4 (Puonti et al. 2020,
NeuroImage 219:117044; SimNIBS documentation "Head meshes"). Coordinates are millimetres in the
scanner RAS space of the T1 the mesh was made from, i.e. tmsnav's mri frame.

The reader follows the published gmsh 2.2 file-format description (gmsh reference manual,
"MSH file format version 2 (legacy)"); only what is needed for triangles is interpreted:

* ``$MeshFormat``: ``2.2 file-type data-size`` (file-type 0 ASCII, 1 binary; data-size 8), and
  in binary files one ``int`` 1 written in binary to tell the byte order;
* ``$Nodes``: count, then ``node-number x y z`` (binary: ``int`` + 3 ``double`` per node);
* ``$Elements``: count, then ASCII lines ``elm-number elm-type number-of-tags tags... nodes...``;
  binary files group elements in blocks headed by 3 ``int`` (elm-type, number in the block,
  number-of-tags), each element then being ``int`` elm-number, the tags and the node numbers;
* every other section (``$NodeData``, ``$ElementData``, ``$PhysicalNames`` ...) is skipped.

Node numbers need not be contiguous (they are mapped), and only the nodes used by the chosen
triangles are kept.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import NavigationError

__all__ = ["MshError", "GM_SURFACE_TAG", "read_msh_triangles", "read_msh_surface"]

GM_SURFACE_TAG = 1002
# Nodes per element for the gmsh element types a head mesh may contain (gmsh manual, table).
_NODES_PER_TYPE = {1: 2, 2: 3, 3: 4, 4: 4, 5: 8, 6: 6, 7: 5, 8: 3, 9: 6, 10: 9, 11: 10, 15: 1}


class MshError(NavigationError):
    """The .msh file cannot be read or has no usable grey-matter surface."""


class _Reader:
    """A cursor over the file bytes: ASCII lines and binary runs interleave in binary files."""

    def __init__(self, raw: bytes, name: str) -> None:
        self.raw, self.pos, self.name = raw, 0, name

    def line(self) -> str:
        end = self.raw.find(b"\n", self.pos)
        if end < 0:
            end = len(self.raw)
            if self.pos >= end:
                raise MshError(f"{self.name}: the file ends too early (truncated?)")
        text = self.raw[self.pos:end].decode("ascii", errors="replace").strip()
        self.pos = end + 1
        return text

    def take(self, n_bytes: int) -> bytes:
        if self.pos + n_bytes > len(self.raw):
            raise MshError(f"{self.name}: the file ends inside a binary block (truncated?)")
        chunk = self.raw[self.pos:self.pos + n_bytes]
        self.pos += n_bytes
        return chunk

    def next_text(self) -> str:
        """The next non-empty line (binary blocks end with a newline before their $End tag)."""
        text = self.line()
        while text == "" and self.pos < len(self.raw):
            text = self.line()
        return text

    def skip_to(self, marker: str) -> None:
        while self.line() != marker:
            pass


def _count(reader: _Reader, what: str) -> int:
    text = reader.line()
    try:
        n = int(text.split()[0])
    except (ValueError, IndexError) as exc:
        raise MshError(f"{reader.name}: expected the number of {what}, found {text[:40]!r}") from exc
    if n < 0:
        raise MshError(f"{reader.name}: negative number of {what}")
    return n


def _nodes(reader: _Reader, binary: bool, endian: str) -> tuple[np.ndarray, np.ndarray]:
    n = _count(reader, "nodes")
    if binary:
        record = np.dtype([("id", endian + "i4"), ("xyz", endian + "f8", 3)])
        block = np.frombuffer(reader.take(n * record.itemsize), dtype=record)
        ids, xyz = block["id"].astype(np.int64), block["xyz"].astype(float)
    else:
        rows = [reader.line().split() for _ in range(n)]
        try:
            table = np.array(rows, dtype=float).reshape(n, 4)
        except ValueError as exc:
            raise MshError(f"{reader.name}: a node line does not have 4 numbers") from exc
        ids, xyz = table[:, 0].astype(np.int64), table[:, 1:]
    if reader.next_text() != "$EndNodes":
        raise MshError(f"{reader.name}: $Nodes section not closed where expected (damaged file?)")
    return ids, xyz


def _elements(reader: _Reader, binary: bool, endian: str) -> tuple[np.ndarray, np.ndarray]:
    """Triangles (node numbers, (M, 3)) and their first (physical) tag."""
    n = _count(reader, "elements")
    tri_nodes, tri_tags = [], []
    if binary:
        done = 0
        while done < n:
            etype, count, ntags = np.frombuffer(reader.take(12), dtype=endian + "i4")
            if etype not in _NODES_PER_TYPE or count <= 0 or ntags < 0:
                raise MshError(f"{reader.name}: unsupported or damaged element block (type {etype})")
            width = 1 + int(ntags) + _NODES_PER_TYPE[int(etype)]
            block = np.frombuffer(reader.take(4 * width * int(count)), dtype=endian + "i4")
            block = block.reshape(int(count), width)
            if etype == 2:
                tri_nodes.append(block[:, 1 + ntags:])
                tri_tags.append(block[:, 1] if ntags else np.zeros(int(count), np.int32))
            done += int(count)
    else:
        for _ in range(n):
            parts = reader.line().split()
            try:
                values = [int(v) for v in parts]
                etype, ntags = values[1], values[2]
            except (ValueError, IndexError) as exc:
                raise MshError(f"{reader.name}: damaged element line {' '.join(parts)[:60]!r}") from exc
            if etype == 2:
                nodes = values[3 + ntags:]
                if len(nodes) != 3:
                    raise MshError(f"{reader.name}: a triangle with {len(nodes)} nodes")
                tri_nodes.append(np.array([nodes]))
                tri_tags.append(np.array([values[3] if ntags else 0]))
    if reader.next_text() != "$EndElements":
        raise MshError(f"{reader.name}: $Elements section not closed where expected (damaged file?)")
    if not tri_nodes:
        return np.zeros((0, 3), np.int64), np.zeros(0, np.int64)
    return np.concatenate(tri_nodes).astype(np.int64), np.concatenate(tri_tags).astype(np.int64)


def read_msh_triangles(path: str | Path) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(node_ids, node_xyz, triangles (node numbers), triangle_tags)`` of a gmsh 2.2 file."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise MshError(f"cannot read {path.name}: {exc.strerror}") from exc
    reader = _Reader(raw, path.name)
    if reader.line() != "$MeshFormat":
        raise MshError(f"{path.name} is not a gmsh .msh file (no $MeshFormat header)")
    header = reader.line().split()
    if len(header) < 3 or not header[0].startswith("2"):
        raise MshError(f"{path.name}: gmsh format {header[0] if header else '?'} is not supported; "
                       "SimNIBS writes version 2.2 (convert with gmsh -format msh22)")
    binary, size = header[1] == "1", header[2]
    if size != "8":
        raise MshError(f"{path.name}: data size {size} is not supported (expected 8-byte doubles)")
    endian = "<"
    if binary:
        one = reader.take(4)
        if np.frombuffer(one, "<i4")[0] == 1:
            endian = "<"
        elif np.frombuffer(one, ">i4")[0] == 1:
            endian = ">"
        else:
            raise MshError(f"{path.name}: damaged binary header (byte-order check failed)")
        reader.line()   # the rest of that line
    if reader.line() != "$EndMeshFormat":
        raise MshError(f"{path.name}: damaged $MeshFormat section")
    nodes = triangles = None
    while reader.pos < len(raw):
        section = reader.next_text()
        if section == "$Nodes":
            nodes = _nodes(reader, binary, endian)
        elif section == "$Elements":
            triangles = _elements(reader, binary, endian)
        elif section.startswith("$") and not section.startswith("$End"):
            reader.skip_to("$End" + section[1:])
        if nodes is not None and triangles is not None:
            break
    if nodes is None or triangles is None:
        raise MshError(f"{path.name} has no $Nodes or no $Elements section")
    return nodes[0], nodes[1], triangles[0], triangles[1]


def read_msh_surface(path: str | Path, tag: int = GM_SURFACE_TAG) -> tuple[np.ndarray, np.ndarray]:
    """``(vertices mm, faces (M, 3) 0-based)`` of the triangles with physical tag ``tag``
    (default 1002: SimNIBS's grey-matter surface), only the vertices they use."""
    path = Path(path)
    ids, xyz, tris, tags = read_msh_triangles(path)
    chosen = tris[tags == tag]
    if len(chosen) == 0:
        found = ", ".join(str(t) for t in np.unique(tags)[:12]) or "none"
        raise MshError(f"{path.name} has no triangles tagged {tag} (SimNIBS grey-matter surface); "
                       f"triangle tags found: {found}. Is it a SimNIBS head mesh?")
    order = np.argsort(ids)
    sorted_ids = ids[order]
    where = np.searchsorted(sorted_ids, chosen)
    if np.any(where >= len(ids)) or np.any(sorted_ids[np.minimum(where, len(ids) - 1)] != chosen):
        raise MshError(f"{path.name} is damaged: triangles refer to nodes that do not exist")
    index = order[where]
    used, faces = np.unique(index, return_inverse=True)
    return xyz[used], faces.reshape(-1, 3)

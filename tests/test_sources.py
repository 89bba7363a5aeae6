"""Writing a fix back loses nothing: not an edit made meanwhile, not the encoding, owner, mode or links."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from autograd_lint.sources import SourceReadError, SourceWriteError, decode, read_source, write_fixed

ORIGINAL = "import torch\nx = torch.ones(2)\n"
FIXED = "import torch\nx = torch.zeros(2)\n"
NOBODY = 65534
as_root = pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="needs root to chown")


def make(path: Path, text: str = ORIGINAL) -> Path:
    path.write_bytes(text.encode())
    return path


def fix(path: Path, root: Path | None = None, text: str = FIXED) -> None:
    source = read_source(path)
    write_fixed(source, source.encode(text), root=root or path.parent)


def test_writes_the_fix(tmp_path):
    path = make(tmp_path / "a.py")
    fix(path)
    assert path.read_text() == FIXED
    assert [p.name for p in tmp_path.iterdir()] == ["a.py"]  # no temporary file left behind


def test_an_edit_saved_after_reading_is_kept(tmp_path):
    path = make(tmp_path / "a.py")
    source = read_source(path)
    path.write_text(ORIGINAL + "y = 1\n")  # the user saves while the checker runs
    with pytest.raises(SourceWriteError, match="^changed on disk since it was read; not fixed$"):
        write_fixed(source, source.encode(FIXED), root=tmp_path)
    assert path.read_text() == ORIGINAL + "y = 1\n"
    assert [p.name for p in tmp_path.iterdir()] == ["a.py"]


def test_same_size_edit_with_the_same_mtime_is_still_seen(tmp_path):
    path = make(tmp_path / "a.py")
    before = path.stat()
    source = read_source(path)
    path.write_text(ORIGINAL.replace("ones", "rand"))
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))  # a coarse clock: same size, same mtime
    with pytest.raises(SourceWriteError, match="changed on disk"):
        write_fixed(source, source.encode(FIXED), root=tmp_path)
    assert "rand" in path.read_text()


def test_a_file_replaced_by_an_editor_save_is_not_overwritten(tmp_path):
    path = make(tmp_path / "a.py")
    source = read_source(path)
    (tmp_path / "new").write_text(ORIGINAL)  # same bytes, but a new file renamed over it
    os.replace(tmp_path / "new", path)
    with pytest.raises(SourceWriteError, match="changed on disk"):
        write_fixed(source, source.encode(FIXED), root=tmp_path)


def test_a_file_deleted_after_reading_is_not_recreated(tmp_path):
    path = make(tmp_path / "a.py")
    source = read_source(path)
    path.unlink()
    with pytest.raises(SourceWriteError, match="^was deleted since it was read; not fixed$"):
        write_fixed(source, source.encode(FIXED), root=tmp_path)
    assert not path.exists()


def test_a_touch_alone_does_not_block_the_fix(tmp_path):
    path = make(tmp_path / "a.py")
    source = read_source(path)
    os.utime(path, ns=(1, 1))
    write_fixed(source, source.encode(FIXED), root=tmp_path)
    assert path.read_text() == FIXED


def test_text_not_read_from_a_file_cannot_be_written(tmp_path):
    source = decode(ORIGINAL.encode(), str(tmp_path / "a.py"))
    with pytest.raises(SourceWriteError, match="not read from a file"):
        write_fixed(source, b"", root=tmp_path)


@pytest.mark.parametrize(
    "data",
    [
        b"\xef\xbb\xbf" + ORIGINAL.encode(),
        ORIGINAL.replace("\n", "\r\n").encode(),
        b"# -*- coding: latin-1 -*-\n" + ORIGINAL.encode() + b"s = '\xe9'\n",
        ORIGINAL.replace("\n", "\r").encode(),
    ],
    ids=["bom", "crlf", "latin-1", "cr"],
)
def test_encoding_bom_and_newlines_are_kept(tmp_path, data):
    path = tmp_path / "a.py"
    path.write_bytes(data)
    source = read_source(path)
    write_fixed(source, source.encode(source.text.replace("ones", "zeros")), root=tmp_path)
    assert path.read_bytes() == data.replace(b"ones", b"zeros")


@pytest.mark.parametrize("mode", [0o644, 0o600, 0o755, 0o664, 0o444])
def test_mode_is_kept(tmp_path, mode):
    path = make(tmp_path / "a.py")
    path.chmod(mode)
    if mode == 0o444 and os.geteuid() != 0:
        pytest.skip("a read-only file is refused to a non-root user (tested below)")
    fix(path)
    assert stat.S_IMODE(path.stat().st_mode) == mode
    assert path.read_text() == FIXED


def test_symlink_inside_the_tree_is_followed_and_stays_a_link(tmp_path):
    real = make(tmp_path / "real.py")
    link = tmp_path / "sub" / "link.py"
    link.parent.mkdir()
    link.symlink_to(real)
    fix(link, root=tmp_path)
    assert link.is_symlink()
    assert real.read_text() == FIXED


def test_symlink_outside_the_tree_is_left_alone(tmp_path):
    outside = make(tmp_path / "outside.py")
    tree = tmp_path / "project"
    tree.mkdir()
    link = tree / "link.py"
    link.symlink_to(outside)
    source = read_source(link)
    with pytest.raises(SourceWriteError, match="^is a symlink to a file outside the checked tree; not fixed$"):
        write_fixed(source, source.encode(FIXED), root=tree)
    assert outside.read_text() == ORIGINAL
    assert link.is_symlink()


def test_hard_linked_file_is_fixed_under_every_name(tmp_path):
    path = make(tmp_path / "a.py")
    other = tmp_path / "b.py"
    os.link(path, other)
    inode = path.stat().st_ino
    fix(path)
    assert other.read_text() == FIXED
    assert path.stat().st_ino == inode
    assert path.stat().st_nlink == 2


def test_hard_linked_file_changed_meanwhile_is_left_alone(tmp_path):
    path = make(tmp_path / "a.py")
    os.link(path, tmp_path / "b.py")
    source = read_source(path)
    (tmp_path / "b.py").write_text(ORIGINAL + "# edited\n")
    with pytest.raises(SourceWriteError, match="changed on disk"):
        write_fixed(source, source.encode(FIXED), root=tmp_path)
    assert path.read_text() == ORIGINAL + "# edited\n"


def test_a_shorter_fix_in_place_leaves_no_old_tail(tmp_path):
    path = make(tmp_path / "a.py", ORIGINAL + "# " + "x" * 100 + "\n")
    os.link(path, tmp_path / "b.py")
    fix(path, text="x = 1\n")
    assert path.read_bytes() == b"x = 1\n"


@as_root
def test_owner_and_group_are_kept(tmp_path):
    path = make(tmp_path / "a.py")
    os.chown(path, NOBODY, NOBODY)
    fix(path)
    status = path.stat()
    assert (status.st_uid, status.st_gid) == (NOBODY, NOBODY)
    assert path.read_text() == FIXED


@as_root
def test_root_fixes_a_read_only_file_and_it_stays_read_only(tmp_path):
    path = make(tmp_path / "a.py")
    path.chmod(0o444)
    fix(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o444
    assert path.read_text() == FIXED


def test_fifo_is_refused_not_waited_on(tmp_path):
    fifo = tmp_path / "pipe.py"
    os.mkfifo(fifo)
    with pytest.raises(SourceReadError, match="not a regular file"):
        read_source(fifo)


def test_directory_is_refused(tmp_path):
    with pytest.raises(SourceReadError, match="is a directory"):
        read_source(tmp_path)


def test_file_over_the_size_limit_is_not_read(tmp_path):
    path = make(tmp_path / "a.py", "x = 1\n" * 1000)
    with pytest.raises(SourceReadError, match=r"^is 0\.0 MB, over the max-file-size of 0\.0 MB$"):
        read_source(path, max_size=100)
    assert read_source(path, max_size=6000).text.startswith("x = 1")


# --- as a user who may not write the file ---------------------------------------------------

AS_NOBODY = """
import sys
from autograd_lint.sources import SourceWriteError, read_source, write_fixed
source = read_source(sys.argv[1])
try:
    write_fixed(source, b"fixed\\n", root=sys.argv[2])
except SourceWriteError as error:
    print(error)
else:
    print("written")
"""


@pytest.fixture
def shared_folder():
    """A folder another user may enter (pytest's tmp_path is root's alone)."""
    folder = Path(tempfile.mkdtemp(prefix="agl-sources-"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder)


def run_as_nobody(path: Path) -> str:
    setpriv = shutil.which("setpriv")
    if os.geteuid() != 0 or setpriv is None:
        pytest.skip("needs root and setpriv to run a process as another user")
    result = subprocess.run(
        [setpriv, f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"]
        + [sys.executable, "-c", AS_NOBODY, str(path), str(path.parent)],
        capture_output=True,
        text=True,
        cwd=path.parent,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)},
    )
    if result.returncode != 0:
        pytest.skip(f"cannot run Python as nobody here: {result.stderr.strip().splitlines()[-1:]}")
    return result.stdout.strip()


@pytest.mark.slow
def test_read_only_file_in_a_writable_folder_is_refused(shared_folder):
    folder = shared_folder / "project"
    folder.mkdir()
    os.chown(folder, NOBODY, NOBODY)  # the user may create and rename files here
    path = make(folder / "a.py")
    os.chown(path, NOBODY, NOBODY)
    path.chmod(0o444)
    assert run_as_nobody(path) == "permission denied: file is read-only; not fixed"
    assert path.read_text() == ORIGINAL


@pytest.mark.slow
def test_someone_elses_group_writable_file_keeps_its_owner(shared_folder):
    folder = shared_folder / "project"
    folder.mkdir()
    folder.chmod(0o777)
    path = make(folder / "a.py")
    path.chmod(0o666)  # root's file that nobody may write: a rename would make it nobody's
    assert run_as_nobody(path) == "written"
    assert path.read_text() == "fixed\n"
    assert path.stat().st_uid == 0
    assert stat.S_IMODE(path.stat().st_mode) == 0o666

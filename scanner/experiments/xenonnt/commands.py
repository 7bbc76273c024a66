"""``cevns-scan dataset import-xenonnt``: the release folder as published -> one validated file."""

from __future__ import annotations

from ..protocols import DatasetCommand


def add_arguments(d) -> None:
    from ...cli import add_force

    d.add_argument("release", metavar="RELEASE_DIR",
                   help="folder of XENONnT/cevns_data_release (data/, binning/, templates/, "
                        "plot.ipynb, LICENSE); needs pip install 'cevns-scan[xenonnt]'")
    d.add_argument("--out", required=True, metavar="FILE.npz",
                   help="the converted file; use it with --data FILE.npz")
    add_force(d, "file")


def run(args) -> int:
    from ...cli import input_paths
    from ...outputs import check_output_file
    from .release import import_release, write_release_file

    out = check_output_file(args.out, force=args.force, inputs=input_paths(args))
    release = import_release(args.release)
    write_release_file(release, out)
    obs = release.observed.sum(axis=1)
    print(f"wrote {out}: runs {', '.join(release.runs)}, {int(obs.sum())} events "
          f"({', '.join(str(int(n)) for n in obs)}), exposures "
          f"{', '.join(f'{x:g}' for x in release.exposure_t_y)} t y; CC-BY-4.0, cite "
          f"doi:{release.provenance.doi}")
    return 0


IMPORT_XENONNT = DatasetCommand(
    "import-xenonnt",
    "the XENONnT solar-8B CEvNS data release (as published) -> one validated file",
    "cevns-scan dataset import-xenonnt cevns_data_release --out xenonnt.npz", add_arguments,
    run, inputs=(("release", "RELEASE_DIR"),))

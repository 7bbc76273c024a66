"""Scan on a cluster through dask-jobqueue, then merge (pip install dask-jobqueue).

Set TOYS > 0 for the toy-MC Neyman construction (``cevns-scan neyman``) instead of the Wilks
scan; the grid points' toys are then spread over the dask workers the same way.

The scheduler runs in this process; SLURM jobs provide the workers. cevns-scan ships each grid
chunk to a worker through joblib's dask backend, writes finished chunks to SCAN atomically,
and `merge` turns the checkpoint folder into the results of `cevns-scan reproduce`.
Workers must have cevns-scan installed in the same version.
"""

import subprocess

from dask_jobqueue import SLURMCluster

GRID = "4001"
SCAN = "scans/paper-4001"
OUT = "results/paper-4001"
TOYS = 0  # e.g. 1000 with GRID = "51" for the Neyman construction

with SLURMCluster(cores=8, processes=8, memory="16GB", walltime="00:30:00") as cluster:
    cluster.scale(jobs=4)  # 4 SLURM jobs x 8 worker processes
    for plane in ("e-mu", "e-tau"):
        command = ["neyman", "--toys", str(TOYS)] if TOYS else ["scan"]
        subprocess.run(["cevns-scan", *command, "--grid", GRID, "--plane", plane, "--out", SCAN,
                        "--backend", "dask", "--scheduler", cluster.scheduler_address,
                        "--resume"], check=True)
subprocess.run(["cevns-scan", "merge", SCAN, "--out", OUT], check=True)

"""NOAA OISST v2.1 daily sea-surface temperature → Zarr in the Bakery's flow-cache container.

The modern form of pangeo-forge's original test recipe (staged-recipes ``noaa-oisst``, which the first
Azure Bakery ran with Prefect 1 and a Dask KubeCluster):

- pangeo-forge-recipes' ``FilePattern`` describes the inputs, one NetCDF file per day from NOAA's URL
  pattern (the Beam-free part of pangeo-forge-recipes; no Beam runner is needed for a few days);
- a Dask cluster on the same AKS cluster (dask-kubernetes operator) fetches and opens the days in
  parallel; it is named ``dask-<flow run name>`` so the Log Analytics queries register-flow prints for a
  failed run find its scheduler and workers;
- the flow-run pod combines the days and writes Zarr with adlfs, authenticated by the pod's workload
  identity (DefaultAzureCredential): no storage key or connection string anywhere.

Run by register-flow's smoke run: register ``flow.py:noaa_oisst``; it needs no parameters on the
Bakery. Where to write, which image the Dask workers run and in which namespace are the platform's
facts, which register-flow gives every flow run as environment variables (BAKERY_FLOW_STORAGE_ACCOUNT,
BAKERY_FLOW_CACHE_CONTAINER, BAKERY_IMAGE, BAKERY_NAMESPACE; see README.md): the parameters default to
them and, when given, win over them. The Dask pods go where the flow pods go (BAKERY_FLOW_POD_TOLERATIONS,
BAKERY_FLOW_POD_NODE_SELECTOR: a Spot worker pool's taint).
"""

from __future__ import annotations

import json
import os

import fsspec
import pandas as pd
import xarray as xr
from adlfs import AzureBlobFileSystem
from azure.identity.aio import DefaultAzureCredential
from dask_kubernetes.operator import KubeCluster, make_cluster_spec
from pangeo_forge_recipes.patterns import ConcatDim, FilePattern
from prefect import flow, get_run_logger, task
from prefect.runtime import flow_run


def make_url(time: pd.Timestamp) -> str:
    """NOAA's URL of one day of OISST v2.1 AVHRR (the original recipe's pattern)."""
    return (
        "https://www.ncei.noaa.gov/data/sea-surface-temperature-optimum-interpolation"
        f"/v2.1/access/avhrr/{time:%Y%m}/oisst-avhrr-v02r01.{time:%Y%m%d}.nc"
    )


def oisst_pattern(start: str, end: str) -> FilePattern:
    dates = pd.date_range(start, end, freq="D")
    return FilePattern(make_url, ConcatDim("time", dates, nitems_per_file=1))


def open_day(url: str) -> xr.Dataset:
    """Runs on a Dask worker: download one day and load it into memory."""
    with fsspec.open(url, mode="rb") as file:
        return xr.open_dataset(file, engine="h5netcdf").load()


def dask_cluster_spec(name: str, image: str, workers: int) -> dict:
    """The DaskCluster resource, its scheduler and worker pods placed where the Bakery's flow pods go.

    On a Spot worker pool every node is tainted kubernetes.azure.com/scalesetpriority=spot:NoSchedule,
    and pods that do not tolerate it stay Pending for ever. register-flow passes the stack's tolerations
    and node selector as BAKERY_FLOW_POD_TOLERATIONS / BAKERY_FLOW_POD_NODE_SELECTOR (JSON; unset when
    there are none); the flow-run pod got the same from the work pool's template.
    """
    spec = make_cluster_spec(name=name, image=image, n_workers=workers)
    tolerations = json.loads(os.environ.get("BAKERY_FLOW_POD_TOLERATIONS") or "[]")
    node_selector = json.loads(os.environ.get("BAKERY_FLOW_POD_NODE_SELECTOR") or "{}")
    for role in ("scheduler", "worker"):
        pod = spec["spec"][role]["spec"]
        if tolerations:
            pod["tolerations"] = [*pod.get("tolerations", []), *tolerations]
        if node_selector:
            pod["nodeSelector"] = {**pod.get("nodeSelector", {}), **node_selector}
    return spec


@task(retries=2, retry_delay_seconds=60)
def fetch_days(urls: list[str], dask_image: str, namespace: str, workers: int) -> xr.Dataset:
    logger = get_run_logger()
    cluster_name = f"dask-{flow_run.get_name()}"
    logger.info("Starting Dask cluster %s (%d workers, image %s) for %d files", cluster_name, workers, dask_image, len(urls))
    spec = dask_cluster_spec(cluster_name, dask_image, workers)
    with KubeCluster(custom_cluster_spec=spec, namespace=namespace) as cluster:
        with cluster.get_client() as client:
            days = client.gather(client.map(open_day, urls))
    return xr.concat(days, dim="time")


@task(retries=2, retry_delay_seconds=30)
def write_zarr(dataset: xr.Dataset, account_name: str, container: str, store: str) -> str:
    target = f"{container}/{store}"
    filesystem = AzureBlobFileSystem(account_name=account_name, credential=DefaultAzureCredential())
    dataset.chunk({"time": 1}).to_zarr(filesystem.get_mapper(target), mode="w", consolidated=True)
    get_run_logger().info("Wrote %s (%s) to abfs://%s", store, dict(dataset.sizes), target)
    return f"abfs://{target}"


def platform_fact(parameter: str, given: str | None, variable: str) -> str:
    """The parameter as given, else the platform's fact that register-flow put in the run's environment."""
    if given:
        return given
    fact = os.environ.get(variable)
    if not fact:
        raise ValueError(
            f"{parameter} was not given and the flow run has no {variable}: register the flow with "
            f"register-flow (it sets {variable} from the Bakery's deploy outputs), or pass {parameter}."
        )
    return fact


@flow(name="noaa-oisst", log_prints=True)
def noaa_oisst(
    start: str = "1981-09-01",
    end: str = "1981-09-02",
    cache_account: str | None = None,
    cache_container: str | None = None,
    dask_image: str | None = None,
    namespace: str | None = None,
    workers: int = 2,
    store: str = "noaa-oisst-avhrr-v02r01.zarr",
) -> str:
    """Fetch OISST days ``start``..``end`` and write them as one Zarr store in the cache container.

    ``cache_account``, ``cache_container``, ``dask_image`` and ``namespace`` default to the Bakery's
    BAKERY_FLOW_STORAGE_ACCOUNT, BAKERY_FLOW_CACHE_CONTAINER, BAKERY_IMAGE and BAKERY_NAMESPACE.
    """
    cache_account = platform_fact("cache_account", cache_account, "BAKERY_FLOW_STORAGE_ACCOUNT")
    cache_container = platform_fact("cache_container", cache_container, "BAKERY_FLOW_CACHE_CONTAINER")
    dask_image = platform_fact("dask_image", dask_image, "BAKERY_IMAGE")
    namespace = platform_fact("namespace", namespace, "BAKERY_NAMESPACE")
    urls = [url for _, url in oisst_pattern(start, end).items()]
    dataset = fetch_days(urls, dask_image, namespace, workers)
    return write_zarr(dataset, cache_account, cache_container, store)


if __name__ == "__main__":
    # A local try-out needs `az login` (or another DefaultAzureCredential source), a kubeconfig, and
    # the BAKERY_* variables above set in the shell (or the parameters passed here instead).
    noaa_oisst()

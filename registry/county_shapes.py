"""County and state boundaries as GeoJSON, read offline from the installed ``plotly-geo`` package.

Source: the U.S. Census Bureau cartographic boundary file ``cb_2016_us_county_500k`` (2016 edition,
1:500,000, public domain) that ``plotly-geo`` ships under ``_plotly_geo/package_data``. The shapefile
has no ``.prj``; the Census cartographic files are NAD83 geographic, so the frame is tagged EPSG:4269
(longitude/latitude in degrees). Nothing is fetched from the network.

Shapes are simplified as a coverage (``simplify_coverage``): neighbouring counties keep one shared,
identical border, so the map has no gaps or overlaps. The default tolerance is 0.005 degrees (about
0.5 km) and coordinates are rounded to 4 decimals (about 10 m), which keeps one state's file well under
1 MB. Results are cached in memory per state, and optionally on disk (``cache_dir``).

County vintage (2016) and its caveats. The 2016 county set is the Census Vintage 2019 set used by
``registry.geography`` (``registry/data/us_counties.csv``): Kusilvak 02158 and Oglala Lakota 46102, no
Bedford city 51515. Population data from Vintage 2022 onwards differ in two places, and those counties
will show as "no data" on a map drawn with these shapes:

- Connecticut: these shapes carry the 8 historical counties (09001-09015); Census data from 2022 on
  use the 9 planning regions (09110-09190). Rates by planning region need a crosswalk, or fall back to
  the state level for CT.
- Alaska: these shapes carry Valdez-Cordova (02261); from 2019 on it is split into Chugach (02063)
  and Copper River (02066).

Alaska's Aleutian Islands cross the 180th meridian. For AK, eastern-hemisphere longitudes are shifted
by -360 degrees so the state is one contiguous shape on a web map (longitudes then go below -180).
"""

from __future__ import annotations

import json
import os
import tempfile
from functools import cache
from pathlib import Path
from typing import Any

from registry.geography import state_fips

COUNTY_SHAPEFILE = "cb_2016_us_county_500k"
COUNTY_VINTAGE = 2016
DEFAULT_TOLERANCE = 0.005   # degrees
PRECISION = 1e-4            # degrees: coordinates rounded to 4 decimals
_CACHE_FORMAT = 1           # bump when the on-disk output changes


def _package_data_dir() -> Path:
    import _plotly_geo  # data-only package, no API

    return Path(os.path.dirname(_plotly_geo.__file__)) / "package_data"


def _shift_antimeridian(geoms: Any) -> Any:
    """Move eastern-hemisphere longitudes (the western Aleutians) to below -180 so the state is contiguous."""
    import numpy as np
    import shapely

    def shift(coords: np.ndarray) -> np.ndarray:
        out = coords.copy()
        east = out[:, 0] > 0
        out[east, 0] -= 360.0
        return out

    return shapely.transform(geoms, shift)


def _county_geometries(abbr: str, tolerance: float) -> tuple[list[str], list[str], Any]:
    """GEOIDs, names and the simplified, rounded geometries (shapely array) of one state's counties."""
    import geopandas as gpd
    import shapely

    fips = state_fips(abbr)
    path = _package_data_dir() / f"{COUNTY_SHAPEFILE}.shp"
    frame = gpd.read_file(path, where=f"STATEFP = '{fips}'", columns=["STATEFP", "GEOID", "NAME"]).set_crs(4269)
    if frame.empty:
        raise KeyError(f"no counties for state {abbr!r} in {COUNTY_SHAPEFILE}")
    frame = frame.sort_values("GEOID", kind="stable").reset_index(drop=True)
    geoms = frame.geometry.values
    if abbr == "AK":
        geoms = _shift_antimeridian(geoms)
    geoms = gpd.GeoSeries(geoms, crs=4269).simplify_coverage(tolerance).values
    geoms = shapely.set_precision(geoms, PRECISION)
    geoms = shapely.make_valid(geoms)
    return frame["GEOID"].astype(str).tolist(), frame["NAME"].astype(str).tolist(), geoms


def _rounded(mapping: dict[str, Any]) -> dict[str, Any]:
    """A GeoJSON geometry dict with coordinates rounded to 4 decimals (removes float noise like 0.30000001)."""
    def walk(value: Any) -> Any:
        if isinstance(value, (list, tuple)):
            if value and isinstance(value[0], float | int):
                return [round(float(v), 4) for v in value]
            return [walk(v) for v in value]
        return value

    return {"type": mapping["type"], "coordinates": walk(mapping["coordinates"])}


def _polygonal(geom: Any) -> Any:
    """Keep only the polygon parts (make_valid may leave stray lines or points along rounded edges)."""
    import shapely
    from shapely.geometry import GeometryCollection, MultiPolygon, Polygon

    if isinstance(geom, Polygon | MultiPolygon):
        return geom
    if isinstance(geom, GeometryCollection):
        parts = [g for g in geom.geoms if isinstance(g, Polygon | MultiPolygon)]
        return shapely.union_all(parts) if parts else Polygon()
    return Polygon()


def _read_disk(path: Path) -> dict[str, Any] | None:
    try:
        with path.open(encoding="utf-8") as fh:
            data = json.load(fh)
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and data.get("type") == "FeatureCollection" else None


def _write_disk(path: Path, data: dict[str, Any]) -> None:
    """Write atomically (temp file + rename); a cache that cannot be written is silently skipped."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".geojson")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, separators=(",", ":"))
        os.replace(tmp, path)
    except OSError:
        return


def _normalise(state_abbr: str) -> str:
    abbr = state_abbr.strip().upper()
    state_fips(abbr)   # KeyError for an unknown abbreviation
    return abbr


@cache
def _counties_cached(abbr: str, tolerance: float, cache_dir: str | None) -> dict[str, Any]:
    disk = None
    if cache_dir is not None:
        disk = Path(cache_dir) / f"counties-{COUNTY_VINTAGE}-{abbr}-{tolerance:g}-v{_CACHE_FORMAT}.geojson"
        found = _read_disk(disk)
        if found is not None:
            return found
    geoids, names, geoms = _county_geometries(abbr, tolerance)
    features = []
    for geoid, name, geom in zip(geoids, names, geoms, strict=True):
        features.append({"type": "Feature", "id": geoid,
                         "properties": {"fips": geoid, "name": name},
                         "geometry": _rounded(_polygonal(geom).__geo_interface__)})
    data: dict[str, Any] = {"type": "FeatureCollection", "features": features,
                            "properties": {"state": abbr, "source": COUNTY_SHAPEFILE,
                                           "vintage": COUNTY_VINTAGE, "crs": "EPSG:4269",
                                           "tolerance_degrees": tolerance}}
    if disk is not None:
        _write_disk(disk, data)
    return data


def state_counties_geojson(state_abbr: str, *, tolerance: float = DEFAULT_TOLERANCE,
                           cache_dir: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """GeoJSON FeatureCollection of one state's counties (2016 Census cartographic boundaries).

    Each feature has ``id`` = the 5-digit county FIPS code (GEOID) and ``properties`` ``fips`` and
    ``name``. Cached per state in memory; with ``cache_dir`` also on disk. The returned dict is shared
    by all callers: do not modify it (``copy.deepcopy`` it first).
    """
    return _counties_cached(_normalise(state_abbr), float(tolerance),
                            None if cache_dir is None else str(cache_dir))


@cache
def _outline_cached(abbr: str, tolerance: float) -> dict[str, Any]:
    import shapely

    _, _, geoms = _county_geometries(abbr, tolerance)
    outline = _polygonal(shapely.make_valid(shapely.set_precision(shapely.coverage_union_all(geoms),
                                                                    PRECISION)))
    return {"type": "Feature", "id": state_fips(abbr),
            "properties": {"state": abbr, "fips": state_fips(abbr)},
            "geometry": _rounded(outline.__geo_interface__)}


def state_outline_geojson(state_abbr: str, *, tolerance: float = DEFAULT_TOLERANCE) -> dict[str, Any]:
    """GeoJSON Feature of one state's outline: the union of its simplified counties (borders match)."""
    return _outline_cached(_normalise(state_abbr), float(tolerance))


def geojson_bounds(geojson: dict[str, Any]) -> tuple[float, float, float, float]:
    """(min lon, min lat, max lon, max lat) of a GeoJSON Feature or FeatureCollection."""
    xs: list[float] = []
    ys: list[float] = []

    def walk(value: Any) -> None:
        if value and isinstance(value[0], float | int):
            xs.append(float(value[0]))
            ys.append(float(value[1]))
        else:
            for v in value:
                walk(v)

    features = geojson["features"] if geojson.get("type") == "FeatureCollection" else [geojson]
    for feature in features:
        geometry = feature.get("geometry") or {}
        walk(geometry.get("coordinates") or [])
    if not xs:
        raise ValueError("GeoJSON has no coordinates")
    return min(xs), min(ys), max(xs), max(ys)


__all__ = ["COUNTY_VINTAGE", "geojson_bounds", "state_counties_geojson", "state_outline_geojson"]

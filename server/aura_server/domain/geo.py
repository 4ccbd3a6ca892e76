"""Distances on the Earth's surface, one point to one or to many."""

from __future__ import annotations

import math

import numpy as np

from aura_server.domain.arrays import FloatArray

EARTH_RADIUS_KM = 6371.0088
# How far a feed, highlights or a search reaches when no radius is asked for: the city.
CITY_RADIUS_KM = 30.0


def haversine_km(
    lat: float, lng: float, lats_rad: FloatArray, lngs_rad: FloatArray, cos_lats: FloatArray
) -> FloatArray:
    """Great-circle distance from one point to many (given in radians, with the cosines
    of their latitudes precomputed), in km."""
    phi1 = np.radians(lat)
    a = (
        np.sin((lats_rad - phi1) / 2) ** 2
        + np.cos(phi1) * cos_lats * np.sin((lngs_rad - np.radians(lng)) / 2) ** 2
    )
    distance: FloatArray = 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))
    return distance


def distance_km(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    """Great-circle distance between two points, in km."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    a = (
        math.sin((phi2 - phi1) / 2) ** 2
        + math.cos(phi1) * math.cos(phi2) * math.sin(math.radians(lng2 - lng1) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(min(max(a, 0.0), 1.0)))

"""Orders into price steps and back: merge offers into a stepped curve, hand volumes back.

A market sees a few steps per region, not every order: offers of one region
whose prices fall in the same logarithmic bin become one step at their
quantity-weighted mean price (:func:`aggregate_steps`). After clearing, each
step's volume is handed back to its offers pro rata (:func:`allocate_to_offers`).
The compiled cores ``aggregate`` and ``allocate`` are what the model's trade
step calls (inside :func:`model.market.clear_orders`); the Python functions
check their input first and are the public, tested face.
"""

import numpy as np

from model.compiled import kernel

PRICE_SCALE_USD_PER_KG = 1e-6  # bins are logarithmic above this price, linear below
DENSE_TABLE_PER_ORDER = 32  # a dense (region, bin) table is used while it has <= this many cells per order
SMALL_SORT = 64  # up to this many distinct steps, they are ranked by an insertion sort (np.argsort above)


def aggregate_steps(
    region: np.ndarray, price: np.ndarray, qty: np.ndarray, n_regions: int, resolution: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Merge offers of a region whose prices share a log-price bin into one step.

    Bins are ``floor(log_price(price) / log1p(resolution))``, with
    ``log_price`` the log of price in units of ``PRICE_SCALE_USD_PER_KG``
    above that scale and linear through zero below it (so zero and negative
    prices are allowed): of relative width ``resolution`` above 1e-6 USD/kg,
    of width ``resolution`` * 1e-6 USD/kg below. A step's price is its
    offers' quantity-weighted mean; offers with qty 0 are dropped
    (``step_of_offer == -1``). Steps come sorted by region, then price.
    Returns ``(step_region, step_price, step_qty, step_of_offer)``.
    """
    region, price, qty = _check_offers(region, price, qty, n_regions, resolution)
    return aggregate(region, price, qty, n_regions, resolution)


def allocate_to_offers(
    step_of_offer: np.ndarray, offer_qty: np.ndarray, step_qty: np.ndarray, step_sold: np.ndarray
) -> np.ndarray:
    """Hand each step's sold volume back to its offers pro rata (t per offer).

    The rounding residual of each step's split is put on its largest offer
    (the last of equals), so the offers' tonnes add up to the step's to
    floating-point rounding of one sum. Offers outside any step (``-1``)
    sell nothing.
    """
    return allocate(*_check_allocation(step_of_offer, offer_qty, step_qty, step_sold))


def log_price(price: np.ndarray) -> np.ndarray:
    """Signed log of ``|price| / PRICE_SCALE_USD_PER_KG`` above 1, linear below (monotone)."""
    scaled = np.abs(np.asarray(price, float)) / PRICE_SCALE_USD_PER_KG
    out = np.log(np.maximum(scaled, 1.0))
    out += np.minimum(scaled, 1.0)
    return np.copysign(out, price, out=out)


# ---------------------------------------------------------------- compiled cores
# Every compiled function here calls only others in this file.


@kernel
def _bin(price, width):
    """Log-price bin of one price (see ``log_price``)."""
    scaled = abs(price) / PRICE_SCALE_USD_PER_KG
    out = np.log(max(scaled, 1.0)) + min(scaled, 1.0)
    return np.int64(np.floor(np.copysign(out, price) / width))


@kernel
def _step_ids(region, bins, keep, n_regions):
    """Step index of each kept order: distinct (region, bin) pairs numbered in sorted order."""
    lo, hi = bins.min(), bins.max()
    span = hi - lo + 1
    ids = np.empty(keep.size, np.int64)
    if n_regions * span <= DENSE_TABLE_PER_ORDER * keep.size + 64:
        cell = np.full(n_regions * span, -1, np.int64)
        for k in range(keep.size):
            cell[region[keep[k]] * span + bins[k] - lo] = 0
        count = 0
        for x in range(cell.size):
            if cell[x] == 0:
                cell[x] = count
                count += 1
        for k in range(keep.size):
            ids[k] = cell[region[keep[k]] * span + bins[k] - lo]
        return ids, count
    # Sparse: the distinct cells by hashing (open addressing), numbered in first-seen order, then ranked.
    size = 1 << int(np.ceil(np.log2(2 * keep.size + 2)))
    slots = np.full(size, -1, np.int64)  # slot -> distinct cell number
    cell = np.empty(keep.size, np.int64)  # distinct cells, in first-seen order
    count = 0
    for k in range(keep.size):
        x = region[keep[k]] * span + bins[k] - lo
        h = x & (size - 1)
        while slots[h] >= 0 and cell[slots[h]] != x:
            h = (h + 1) & (size - 1)
        if slots[h] < 0:
            slots[h], cell[count] = count, x
            count += 1
        ids[k] = slots[h]
    distinct = cell[:count]
    order = _insertion_argsort(distinct) if count <= SMALL_SORT else np.argsort(distinct)
    rank = slots[:count]  # reused: distinct cell number -> its rank
    for r in range(count):
        rank[order[r]] = r
    for k in range(keep.size):
        ids[k] = rank[ids[k]]
    return ids, count


@kernel
def _insertion_argsort(keys):
    """Indices that sort ``keys`` (ascending; equal keys in any order).

    For a few dozen keys this beats ``np.argsort``'s set-up; step ids
    depend only on the sorted distinct keys, so either sort gives them.
    """
    order = np.arange(keys.size)
    for i in range(1, keys.size):
        k, key = order[i], keys[order[i]]
        j = i - 1
        while j >= 0 and keys[order[j]] > key:
            order[j + 1] = order[j]
            j -= 1
        order[j + 1] = k
    return order


@kernel
def aggregate(region, price, qty, n_regions, resolution):
    """Compiled :func:`aggregate_steps` for typed, valid arrays."""
    step_of = np.full(qty.size, -1, np.int64)
    width = np.log1p(resolution)
    work = np.empty(2 * qty.size, np.int64)  # one allocation for both
    keep, bins, m = work[: qty.size], work[qty.size :], 0
    last_price, last_bin = np.nan, 0
    for o in range(qty.size):  # the orders with tonnage, and their bins
        if qty[o] > 0:
            p = price[o]
            if p != last_price:  # orders often repeat a price (a floor, a region's expected price)
                last_price, last_bin = p, _bin(p, width)
            keep[m], bins[m] = o, last_bin
            m += 1
    if m == 0:
        return np.zeros(0, np.int64), np.zeros(0), np.zeros(0), step_of
    keep, bins = keep[:m], bins[:m]
    ids, n_steps = _step_ids(region, bins, keep, n_regions)
    step_region = np.empty(n_steps, np.int64)
    step_qty, value = np.zeros(n_steps), np.zeros(n_steps)
    s0, q, v = 0, 0.0, 0.0  # the step being summed, in registers (orders of a step often come together)
    for k in range(keep.size):
        o, s = keep[k], ids[k]
        if s != s0:
            step_qty[s0], value[s0] = q, v
            s0, q, v = s, step_qty[s], value[s]
        step_of[o] = s
        step_region[s] = region[o]
        q += qty[o]
        v += qty[o] * price[o]
    step_qty[s0], value[s0] = q, v
    for s in range(n_steps):
        value[s] /= step_qty[s]  # the step's quantity-weighted mean price
    return step_region, value, step_qty, step_of


@kernel
def allocate(step_of_offer, offer_qty, step_qty, step_sold):
    """Compiled :func:`allocate_to_offers` for typed, valid arrays."""
    n_steps = step_qty.size
    sold, work = np.zeros(offer_qty.size), np.empty(3 * n_steps)  # work: one allocation for three
    placed, top, share = work[:n_steps], work[n_steps : 2 * n_steps], work[2 * n_steps :]
    largest = np.full(n_steps, -1, np.int64)
    for s in range(n_steps):
        placed[s], top[s] = 0.0, -np.inf
        share[s] = min(max(step_sold[s] / step_qty[s], 0.0), 1.0) if step_qty[s] > 0 else 0.0  # of each offer's qty
    for k in range(offer_qty.size):
        s = step_of_offer[k]
        if s < 0:
            continue
        sold[k] = offer_qty[k] * share[s]
        placed[s] += sold[k]
        if offer_qty[k] >= top[s]:
            top[s], largest[s] = offer_qty[k], k
    for s in range(n_steps):
        k = largest[s]
        if k >= 0:
            residual = step_sold[s] - placed[s]
            sold[k] = min(max(sold[k] + residual, 0.0), offer_qty[k])
    return sold


# ---------------------------------------------------------------- input checks


def coerce_array(name: str, value: object, kind: str, shape: tuple) -> np.ndarray:
    """``value`` as a contiguous array of ``kind`` and ``shape``, or ValueError naming it."""
    dtype = {"bool": np.bool_, "int": np.int64, "float": np.float64}[kind]
    if isinstance(value, np.ndarray) and value.dtype == dtype and value.shape == shape:
        return np.ascontiguousarray(value)
    arr = np.asarray(value)
    if arr.shape != shape:
        raise ValueError(f"{name}: expected shape {shape}, got {arr.shape}")
    if kind == "bool" and arr.dtype != np.bool_:
        raise ValueError(f"{name}: expected bool values, got dtype {arr.dtype}")
    if kind == "int" and arr.size and arr.dtype.kind not in "iu":
        raise ValueError(f"{name}: expected integers, got dtype {arr.dtype}")
    if kind == "float" and arr.dtype.kind not in "biuf":
        raise ValueError(f"{name}: expected numbers, got dtype {arr.dtype}")
    return np.ascontiguousarray(arr, dtype=dtype)


def check_n_regions(n: object) -> int:
    """``n`` as a positive int, or ValueError naming ``n_regions``."""
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1:
        raise ValueError(f"n_regions: expected a positive int, got {n!r}")
    return int(n)


def _check_offers(
    region: np.ndarray, price: np.ndarray, qty: np.ndarray, n_regions: int, resolution: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    n = check_n_regions(n_regions)
    if not (np.isfinite(resolution) and resolution > 0):
        raise ValueError(f"resolution: expected a finite number > 0, got {resolution!r}")
    shape = np.shape(region)[:1] or (0,)
    region = coerce_array("region", region, "int", shape)
    price, qty = coerce_array("price", price, "float", shape), coerce_array("qty", qty, "float", shape)
    if np.any((region < 0) | (region >= n)):
        raise ValueError(f"region: regions must lie in [0, {n})")
    if not np.all(np.isfinite(price)):
        raise ValueError("price: must be finite")
    if not np.all(np.isfinite(qty) & (qty >= 0)):
        raise ValueError("qty: must be finite and >= 0")
    return region, price, qty


def _check_allocation(
    step_of_offer: np.ndarray, offer_qty: np.ndarray, step_qty: np.ndarray, step_sold: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    n_offers = np.shape(step_of_offer)[:1] or (0,)
    step_of_offer = coerce_array("step_of_offer", step_of_offer, "int", n_offers)
    offer_qty = coerce_array("offer_qty", offer_qty, "float", n_offers)
    n_steps = np.shape(step_qty)[:1] or (0,)
    step_qty = coerce_array("step_qty", step_qty, "float", n_steps)
    step_sold = coerce_array("step_sold", step_sold, "float", n_steps)
    if np.any((step_of_offer < -1) | (step_of_offer >= n_steps[0])):
        raise ValueError(f"step_of_offer: must lie in [-1, {n_steps[0]})")
    if not np.all(np.isfinite(offer_qty) & (offer_qty >= 0)):
        raise ValueError("offer_qty: must be finite and >= 0")
    slack = 1e-9 * np.maximum(step_qty, 1.0)
    if not np.all(np.isfinite(step_sold) & (step_sold >= 0) & (step_sold <= step_qty + slack)):
        raise ValueError("step_sold: must lie in [0, step_qty]")
    return step_of_offer, offer_qty, step_qty, step_sold

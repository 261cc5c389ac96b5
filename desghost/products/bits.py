"""Mask planes of the bad-region masks.

DES uses bits 0-14 (1 BPM ... 16384 TAPEBUMP) and has no plane for ghosts or scattered light;
desghost uses the next three bits, declared in headers as ``MP_<NAME> = bit`` like Rubin.
"""
DES_BITS = {"BPM": 0, "SATURATE": 1, "INTERP": 2, "BADAMP": 3, "CRAY": 4, "STAR": 5, "TRAIL": 6,
            "EDGEBLEED": 7, "SSXTALK": 8, "EDGE": 9, "STREAK": 10, "SUSPECT": 11, "FIXED": 12,
            "NEAREDGE": 13, "TAPEBUMP": 14}
CLASS_BITS = {"Bright": 15, "Faint": 16, "Rays": 17}
PLANE_NAMES = {"Bright": "GHOST_BRIGHT", "Faint": "GHOST_FAINT", "Rays": "SCATTER_RAYS"}

assert not set(CLASS_BITS.values()) & set(DES_BITS.values())


def class_value(class_name):
    """The mask value (2**bit) of a class."""
    return 1 << CLASS_BITS[class_name]


def plane_cards():
    """Header cards declaring the planes: ``MP_GHOST_BRIGHT = 15`` ..."""
    return [{"name": f"MP_{PLANE_NAMES[c]}", "value": b,
             "comment": f"mask bit of {c} ({1 << b})"} for c, b in CLASS_BITS.items()]

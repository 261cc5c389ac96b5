"""The class vocabulary: ids, names, mask planes and overlay colours of the three artifact classes.

Class ids are those of the DeepGhostBusters annotations (VIA ``region_attributes["Type"]``) and
of the model's outputs: 0 is the background, 1 Bright, 2 Faint, 3 Rays (Tanoglidis et al. 2021).

DES uses mask bits 0-14 (1 BPM ... 16384 TAPEBUMP) and has no plane for ghosts or scattered
light; desghost uses the next three bits, declared in headers as ``MP_<NAME> = bit`` like Rubin.
"""

__all__ = ["ARTIFACT_IDS", "CLASS_BITS", "CLASS_COLORS", "CLASS_IDS", "CLASS_NAMES", "CLASS_ORDER", "class_value",
           "DES_BITS", "plane_cards", "PLANE_NAMES"]
#: The artifact classes in id order (ids 1, 2, 3).
CLASS_ORDER = ("Bright", "Faint", "Rays")
#: Class name -> class id.
CLASS_IDS = {name: i for i, name in enumerate(CLASS_ORDER, start=1)}
#: Class id -> class name; index 0 is the model's background class.
CLASS_NAMES = ("background",) + CLASS_ORDER
#: The artifact class ids, (1, 2, 3).
ARTIFACT_IDS = tuple(CLASS_IDS.values())

#: The DES mask planes (bit numbers), from the DES Y6 data release documentation.
DES_BITS = {"BPM": 0, "SATURATE": 1, "INTERP": 2, "BADAMP": 3, "CRAY": 4, "STAR": 5, "TRAIL": 6,
            "EDGEBLEED": 7, "SSXTALK": 8, "EDGE": 9, "STREAK": 10, "SUSPECT": 11, "FIXED": 12,
            "NEAREDGE": 13, "TAPEBUMP": 14}
#: desghost's mask planes (bit numbers), after the DES ones.
CLASS_BITS = {"Bright": 15, "Faint": 16, "Rays": 17}
#: Mask plane names, declared as ``MP_<NAME>`` header cards.
PLANE_NAMES = {"Bright": "GHOST_BRIGHT", "Faint": "GHOST_FAINT", "Rays": "SCATTER_RAYS"}

#: Overlay outline colours (RGB): Bright red, Faint yellow, Rays cyan.
CLASS_COLORS = {"Bright": (255, 60, 60), "Faint": (255, 200, 0), "Rays": (0, 220, 255)}

assert not set(CLASS_BITS.values()) & set(DES_BITS.values())


def class_value(class_name):
    """The mask value (2**bit) of a class, e.g. ``class_value("Bright") == 32768``."""
    return 1 << CLASS_BITS[class_name]


def plane_cards():
    """Header cards declaring the planes: ``MP_GHOST_BRIGHT = 15`` ..."""
    return [{"name": f"MP_{PLANE_NAMES[c]}", "value": b,
             "comment": f"mask bit of {c} ({1 << b})"} for c, b in CLASS_BITS.items()]

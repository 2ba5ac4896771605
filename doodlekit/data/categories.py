"""The 345 official Quick, Draw! categories and name validation."""

from __future__ import annotations

import difflib
import unicodedata

from doodlekit.errors import UnknownCategoryError

#: The official category names, in the dataset's own (case-sensitive, alphabetical) order.
CATEGORIES: tuple[str, ...] = (
    'aircraft carrier',
    'airplane',
    'alarm clock',
    'ambulance',
    'angel',
    'animal migration',
    'ant',
    'anvil',
    'apple',
    'arm',
    'asparagus',
    'axe',
    'backpack',
    'banana',
    'bandage',
    'barn',
    'baseball',
    'baseball bat',
    'basket',
    'basketball',
    'bat',
    'bathtub',
    'beach',
    'bear',
    'beard',
    'bed',
    'bee',
    'belt',
    'bench',
    'bicycle',
    'binoculars',
    'bird',
    'birthday cake',
    'blackberry',
    'blueberry',
    'book',
    'boomerang',
    'bottlecap',
    'bowtie',
    'bracelet',
    'brain',
    'bread',
    'bridge',
    'broccoli',
    'broom',
    'bucket',
    'bulldozer',
    'bus',
    'bush',
    'butterfly',
    'cactus',
    'cake',
    'calculator',
    'calendar',
    'camel',
    'camera',
    'camouflage',
    'campfire',
    'candle',
    'cannon',
    'canoe',
    'car',
    'carrot',
    'castle',
    'cat',
    'ceiling fan',
    'cello',
    'cell phone',
    'chair',
    'chandelier',
    'church',
    'circle',
    'clarinet',
    'clock',
    'cloud',
    'coffee cup',
    'compass',
    'computer',
    'cookie',
    'cooler',
    'couch',
    'cow',
    'crab',
    'crayon',
    'crocodile',
    'crown',
    'cruise ship',
    'cup',
    'diamond',
    'dishwasher',
    'diving board',
    'dog',
    'dolphin',
    'donut',
    'door',
    'dragon',
    'dresser',
    'drill',
    'drums',
    'duck',
    'dumbbell',
    'ear',
    'elbow',
    'elephant',
    'envelope',
    'eraser',
    'eye',
    'eyeglasses',
    'face',
    'fan',
    'feather',
    'fence',
    'finger',
    'fire hydrant',
    'fireplace',
    'firetruck',
    'fish',
    'flamingo',
    'flashlight',
    'flip flops',
    'floor lamp',
    'flower',
    'flying saucer',
    'foot',
    'fork',
    'frog',
    'frying pan',
    'garden',
    'garden hose',
    'giraffe',
    'goatee',
    'golf club',
    'grapes',
    'grass',
    'guitar',
    'hamburger',
    'hammer',
    'hand',
    'harp',
    'hat',
    'headphones',
    'hedgehog',
    'helicopter',
    'helmet',
    'hexagon',
    'hockey puck',
    'hockey stick',
    'horse',
    'hospital',
    'hot air balloon',
    'hot dog',
    'hot tub',
    'hourglass',
    'house',
    'house plant',
    'hurricane',
    'ice cream',
    'jacket',
    'jail',
    'kangaroo',
    'key',
    'keyboard',
    'knee',
    'knife',
    'ladder',
    'lantern',
    'laptop',
    'leaf',
    'leg',
    'light bulb',
    'lighter',
    'lighthouse',
    'lightning',
    'line',
    'lion',
    'lipstick',
    'lobster',
    'lollipop',
    'mailbox',
    'map',
    'marker',
    'matches',
    'megaphone',
    'mermaid',
    'microphone',
    'microwave',
    'monkey',
    'moon',
    'mosquito',
    'motorbike',
    'mountain',
    'mouse',
    'moustache',
    'mouth',
    'mug',
    'mushroom',
    'nail',
    'necklace',
    'nose',
    'ocean',
    'octagon',
    'octopus',
    'onion',
    'oven',
    'owl',
    'paintbrush',
    'paint can',
    'palm tree',
    'panda',
    'pants',
    'paper clip',
    'parachute',
    'parrot',
    'passport',
    'peanut',
    'pear',
    'peas',
    'pencil',
    'penguin',
    'piano',
    'pickup truck',
    'picture frame',
    'pig',
    'pillow',
    'pineapple',
    'pizza',
    'pliers',
    'police car',
    'pond',
    'pool',
    'popsicle',
    'postcard',
    'potato',
    'power outlet',
    'purse',
    'rabbit',
    'raccoon',
    'radio',
    'rain',
    'rainbow',
    'rake',
    'remote control',
    'rhinoceros',
    'rifle',
    'river',
    'roller coaster',
    'rollerskates',
    'sailboat',
    'sandwich',
    'saw',
    'saxophone',
    'school bus',
    'scissors',
    'scorpion',
    'screwdriver',
    'sea turtle',
    'see saw',
    'shark',
    'sheep',
    'shoe',
    'shorts',
    'shovel',
    'sink',
    'skateboard',
    'skull',
    'skyscraper',
    'sleeping bag',
    'smiley face',
    'snail',
    'snake',
    'snorkel',
    'snowflake',
    'snowman',
    'soccer ball',
    'sock',
    'speedboat',
    'spider',
    'spoon',
    'spreadsheet',
    'square',
    'squiggle',
    'squirrel',
    'stairs',
    'star',
    'steak',
    'stereo',
    'stethoscope',
    'stitches',
    'stop sign',
    'stove',
    'strawberry',
    'streetlight',
    'string bean',
    'submarine',
    'suitcase',
    'sun',
    'swan',
    'sweater',
    'swing set',
    'sword',
    'syringe',
    'table',
    'teapot',
    'teddy-bear',
    'telephone',
    'television',
    'tennis racquet',
    'tent',
    'The Eiffel Tower',
    'The Great Wall of China',
    'The Mona Lisa',
    'tiger',
    'toaster',
    'toe',
    'toilet',
    'tooth',
    'toothbrush',
    'toothpaste',
    'tornado',
    'tractor',
    'traffic light',
    'train',
    'tree',
    'triangle',
    'trombone',
    'truck',
    'trumpet',
    't-shirt',
    'umbrella',
    'underwear',
    'van',
    'vase',
    'violin',
    'washing machine',
    'watermelon',
    'waterslide',
    'whale',
    'wheel',
    'windmill',
    'wine bottle',
    'wine glass',
    'wristwatch',
    'yoga',
    'zebra',
    'zigzag',
)

#: The categories the kit trains on by default (``doodlekit reproduce``, the notebooks).
#: All 24 have bitmaps in the offline mirror that CI reads, and users download them.
#: Chosen to hold semantic families: animals, vehicles, food, sky, shapes.
DEFAULT_CATEGORIES: tuple[str, ...] = (
    "airplane", "apple", "banana", "bee", "bicycle", "bird", "car", "cat",
    "circle", "cloud", "crown", "diamond", "dog", "fish", "flower", "frog",
    "horse", "house", "lion", "moon", "square", "star", "train", "tree",
)

#: The other 17 categories with bitmaps in the offline mirror. No default was tuned
#: on them: run ``doodlekit reproduce --categories`` on these to check that results hold.
UNTUNED_CATEGORIES: tuple[str, ...] = (
    "alarm clock", "angel", "book", "boomerang", "bowtie", "clock", "donut",
    "dragon", "eye", "house plant", "knife", "pants", "rainbow", "sea turtle",
    "skull", "smiley face", "The Mona Lisa",
)

_BY_FOLDED = {name.casefold(): name for name in CATEGORIES}


#: Longest name echoed whole in an error message, and looked up for suggestions.
_LONGEST_SHOWN = 60


def _fold(name: str) -> str:
    """Compare-form of a name: NFKC (full-width ``ｃａｔ`` -> ``cat``), ``_`` and ``-`` as spaces, casefolded."""
    name = unicodedata.normalize("NFKC", name)
    return " ".join(name.replace("_", " ").replace("-", " ").split()).casefold()


def _shown(name: str) -> str:
    """``repr(name)``, cut short for a name too long to echo whole."""
    if len(name) <= _LONGEST_SHOWN:
        return repr(name)
    return f"{name[:_LONGEST_SHOWN]!r}... ({len(name):,} characters)"


def suggest(name: str, n: int = 3) -> list[str]:
    """The up-to-``n`` official names closest to ``name`` (for "did you mean")."""
    if len(name) > 4 * _LONGEST_SHOWN:  # no official name is near that long
        return []
    folded = _fold(name)
    matches = difflib.get_close_matches(folded, list(_BY_FOLDED), n=n, cutoff=0.6)
    return [_BY_FOLDED[m] for m in matches]


def validate_category(name: str) -> str:
    """Return ``name`` if it is an official category, else raise with suggestions.

    Raises:
        UnknownCategoryError: ``name`` is not one of :data:`CATEGORIES`; the
            message names the closest valid names (``"hot-dog"`` -> ``"hot dog"``).
    """
    if not isinstance(name, str):
        raise UnknownCategoryError(f"category names are strings, got {type(name).__name__}: {name!r}")
    if name in _BY_FOLDED.values():
        return name
    close = suggest(name)
    hint = " or ".join(f'"{c}"' for c in close)
    hint = f": did you mean {hint}?" if close else "."
    raise UnknownCategoryError(
        f"unknown Quick, Draw! category {_shown(name)}{hint} "
        "doodlekit.data.CATEGORIES lists the 345 official names."
    )


def validate_categories(names: "list[str] | tuple[str, ...] | str") -> list[str]:
    """Validate a list of names (or one comma-separated string); duplicates are an error."""
    if isinstance(names, str):
        names = [part.strip() for part in names.split(",") if part.strip()]
    checked = [validate_category(name) for name in names]
    if not checked:
        raise UnknownCategoryError("no categories given; name at least one, e.g. 'cat,dog'")
    duplicates = sorted({name for name in checked if checked.count(name) > 1})
    if duplicates:
        raise UnknownCategoryError(f"categories listed twice: {', '.join(duplicates)}; list each once")
    return checked


#: Semantic families of the offline mirror's 41 categories (:data:`DEFAULT_CATEGORIES` and
#: :data:`UNTUNED_CATEGORIES`), family -> members. The lesson's 15 categories come first in
#: their families (animals cat, dog, horse, bird, fish; vehicles car, bicycle, airplane; fruit
#: apple, banana; sky cloud, moon, star; shapes circle, square). Figures colour by family
#: (:data:`doodlekit.plotting.FAMILY_COLOURS`), so one family has one colour across the kit.
FAMILIES: dict[str, tuple[str, ...]] = {
    "animals": ("cat", "dog", "horse", "bird", "fish", "bee", "frog", "lion", "dragon", "sea turtle"),
    "vehicles": ("car", "bicycle", "airplane", "train"),
    "fruit": ("apple", "banana"),
    "sky": ("cloud", "moon", "star", "rainbow"),
    "shapes": ("circle", "square", "diamond"),
    "plants": ("flower", "tree", "house plant"),
    "things": ("crown", "house", "alarm clock", "book", "boomerang", "bowtie", "clock", "donut", "knife", "pants"),
    "faces": ("angel", "eye", "skull", "smiley face", "The Mona Lisa"),
}
#: The family of a category that :data:`FAMILIES` does not list.
OTHER_FAMILY = "other"

_FAMILY_OF = {name: fam for fam, members in FAMILIES.items() for name in members}


def family(name: str) -> str:
    """The semantic family of a category (``"cat"`` -> ``"animals"``); :data:`OTHER_FAMILY` if unlisted."""
    return _FAMILY_OF.get(name, OTHER_FAMILY)

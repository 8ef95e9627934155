"""Synthetic police domestic-abuse notifications, as a force would send them (contract schema "1").

The test and demo data of the product, so it is made to look like the real thing:

* Time: evenings, nights and weekends are heavier (a weight for every hour of the week, a mild
  season); `recorded_at` follows `occurred_at` by 30 minutes to 6 hours mostly, with a tail of
  one to ten days (the lateness the product exists to expose). Nothing is later than the end of
  the window `[start, start + days)`, midnight Europe/London.
* Households come back: about a quarter of victims have another notification within 12 months,
  often with the same suspect, the same (older) children, at the same or a new address; an unborn
  child of one notice is a baby with a name on the next.
* The same person is written differently from one notice to the next: a typo, a nickname, another
  spelling, day and month of birth swapped, no date of birth, a new surname (marriage, hyphenation,
  a child taking a step-parent's name), a postcode in lower case or without its space.
* DASH answers agree with the officer's grade (yes-count bands 0-9, 10-13, 14+, or a higher grade
  on professional judgement with a rationale); DARA carries no answers.
* Children of every age (unborn, babies, school age with the URN of a school of their council,
  some unknown to the reference data), some living elsewhere.

Identifiers that must not belong to anyone real are taken from reserved ranges: NHS numbers from
the 999 test range (valid modulus 11 check digit), phone numbers from Ofcom's drama range
(07700 900xxx), e-mail domains under `.example`.

Same seed, same arguments: the same notifications, byte for byte. Only the standard library.
The run is two independent populations of households (shards) merged in time order; the
incident references are numbered after the merge. `write_notifications` makes each shard in a
process of its own when the run is large, and the file is the same either way.
`generate_labelled` gives the truth with each body (household, person ids, the variations
applied): the ground truth for measuring person linkage.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import heapq
import json
import math
import multiprocessing
import os
import random
import threading
from bisect import bisect_right
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

LONDON = ZoneInfo("Europe/London")
DATA_DIR = Path(__file__).resolve().parent.parent / "accounts" / "data"

INSTRUMENTS = ("DASH_2009_27", "SAFELIVES_RIC_24", "DARA")
DEFAULT_INSTRUMENT_MIX: Mapping[str, float] = {
    "DASH_2009_27": 0.5,
    "SAFELIVES_RIC_24": 0.2,
    "DARA": 0.3,
}
GRADES = ("standard", "medium", "high")
GRADE_BANDS = {"standard": (0, 9), "medium": (10, 13), "high": (14, 27)}
POSTCODE_UNIT_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"
VARIATION_KINDS = (
    "typo",
    "nickname",
    "spelling",
    "dob_swap",
    "dob_missing",
    "new_surname",
    "postcode_format",
)

# ---------------------------------------------------------------------------------------------
# Reference data (councils, postcode districts, schools)
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class School:
    urn: str
    la_code: str
    phase: str  # "primary" or "secondary"


@dataclass(frozen=True)
class Reference:
    """Postcode districts and schools. `district_la` maps a district to its council codes: a
    district that straddles two councils (L9, L35 on Merseyside) has two."""

    district_la: Mapping[str, tuple[str, ...]]
    schools: tuple[School, ...]

    def la_code(self, district: str) -> str | None:
        codes = self.district_la.get(district)
        return codes[0] if codes else None


def load_reference(data_dir: Path | None = None) -> Reference:
    """Read `postcode_districts.csv` and the `school` rows of `agencies.csv`."""
    folder = data_dir or DATA_DIR
    district_la: dict[str, tuple[str, ...]] = {}
    with (folder / "postcode_districts.csv").open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            district = row["district"].strip().upper()
            la = row["la_code"].strip()
            if district and la and la not in district_la.get(district, ()):
                district_la[district] = (*district_la.get(district, ()), la)
    schools: list[School] = []
    with (folder / "agencies.csv").open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            if row.get("kind") != "school":
                continue
            urn, phase = (row.get("urn") or "").strip(), (row.get("phase") or "").strip().lower()
            council = (row.get("council") or row.get("la_code") or "").strip()
            if urn and council and phase in ("primary", "secondary"):
                schools.append(School(urn=urn, la_code=council, phase=phase))
    return Reference(district_la=district_la, schools=tuple(schools))


@lru_cache(maxsize=1)
def _default_reference() -> Reference:
    return load_reference()


# ---------------------------------------------------------------------------------------------
# Weighted tables
# ---------------------------------------------------------------------------------------------


class _Table:
    """Items with weights, drawn with one uniform number: `table.pick(rng.random())`."""

    __slots__ = ("cum", "items", "n", "total")

    def __init__(self, pairs: Sequence[tuple[Any, float]]) -> None:
        self.items = [item for item, _ in pairs]
        cum: list[float] = []
        total = 0.0
        for _, weight in pairs:
            total += weight
            cum.append(total)
        self.total = total
        cum[-1] = math.inf  # r * total can round up to total
        self.cum = cum
        self.n = len(self.items)

    def pick(self, r: float) -> Any:
        return self.items[bisect_right(self.cum, r * self.total)]


def _zipf(names: str | Sequence[str], s: float = 1.0, q: float = 2.5) -> list[tuple[str, float]]:
    """Rank-frequency weights: the first names of the list are the most common."""
    items = names.split() if isinstance(names, str) else list(names)
    return [(name, 1.0 / (rank + q) ** s) for rank, name in enumerate(items)]


def _table(names: str | Sequence[str], s: float = 1.0, q: float = 2.5) -> _Table:
    return _Table(_zipf(names, s, q))


# ---------------------------------------------------------------------------------------------
# Names. Lists are in rough order of frequency; weights follow the rank (Zipf-like).
# British given names by birth decade (ONS / GRO top names, abridged).
# ---------------------------------------------------------------------------------------------

_BRITISH_FEMALE = {
    1940: "Margaret Patricia Christine Mary Jean Ann Susan Janet Maureen Barbara Valerie Kathleen "
    "Sheila Pauline Brenda Joan Irene Elizabeth Sandra Carol Linda Doreen Marion Eileen",
    1950: "Susan Linda Christine Margaret Janet Patricia Carol Elizabeth Mary Anne Ann Jane Jean "
    "Pauline Sandra Barbara Lynne Kathleen Maureen Valerie Jacqueline Gillian Sheila Denise "
    "Angela Carole Diane Wendy Lesley Marilyn",
    1960: "Susan Julie Karen Jacqueline Deborah Tracey Jane Helen Diane Sharon Amanda Alison "
    "Sandra Linda Elizabeth Carol Christine Joanne Lorraine Denise Angela Janet Dawn Wendy "
    "Gillian Nicola Lisa Paula Kim Michelle Beverley Catherine Margaret Andrea Sarah Debra",
    1970: "Sarah Claire Nicola Emma Lisa Joanne Michelle Helen Samantha Karen Amanda Rachel "
    "Louise Julie Clare Rebecca Sharon Victoria Caroline Susan Kelly Lindsey Donna Tracey Gemma "
    "Natalie Kerry Stacey Leanne Jennifer Elizabeth Katherine Catherine Deborah Dawn Jacqueline",
    1980: "Sarah Laura Gemma Emma Rebecca Claire Victoria Samantha Rachel Amy Jennifer Nicola "
    "Kelly Katie Natalie Hayley Lauren Stacey Danielle Amanda Leanne Jade Kirsty Lisa Stephanie "
    "Michelle Charlotte Hannah Zoe Jessica Sophie Katherine Elizabeth Kerry Lindsay Melissa "
    "Carly Gemma Louise Joanne Catherine Abigail",
    1990: "Rebecca Lauren Jessica Charlotte Hannah Sophie Amy Emily Laura Emma Chloe Sarah Megan "
    "Danielle Shannon Bethany Jade Katie Georgia Samantha Abigail Victoria Stephanie "
    "Courtney Naomi Holly Natasha Kayleigh Paige Jasmine Olivia Ellie Leah Alice Amber "
    "Rachel Jennifer Catherine Elizabeth Niamh Kirsty Chelsea",
    2000: "Chloe Emily Megan Jessica Sophie Charlotte Hannah Lauren Ellie Olivia Lucy Amy Grace "
    "Molly Holly Bethany Katie Emma Abigail Mia Ruby Jasmine Eve Lily Amelia Niamh Millie "
    "Georgia Evie Isabella Leah Erin Courtney Paige Caitlin Shannon Elizabeth Rebecca "
    "Isabelle Summer Keira Brooke Freya Libby",
    2010: "Olivia Amelia Emily Isla Ava Jessica Isabella Lily Ella Mia Sophie Poppy Grace Evie "
    "Ruby Sophia Freya Chloe Isabelle Millie Charlotte Daisy Phoebe Scarlett Matilda Evelyn "
    "Willow Harper Sienna Lola Ellie Layla Rosie Florence Maisie Erin Eleanor Alexandra "
    "Victoria Elizabeth Lacey Darcie Gracie",
    2020: "Olivia Amelia Isla Lily Ava Freya Ivy Florence Willow Isabella Mia Elsie Sophia Evie "
    "Grace Rosie Daisy Sienna Hallie Maeve Harper Luna Ella Margot Esme Aria Millie Poppy "
    "Bonnie Mila Ada Arabella Ellie Matilda Eleanor Isabelle Myla Lottie",
}
_BRITISH_MALE = {
    1940: "John David Michael Peter Robert Brian Anthony Alan William James Kenneth Terence "
    "Raymond Roy Derek Dennis Ronald Keith Colin Barry Malcolm Geoffrey Thomas Frederick",
    1950: "David John Michael Peter Robert Stephen Paul Alan Christopher Richard Anthony Brian "
    "Keith Kenneth William James Thomas Terence Colin Barry Graham Geoffrey Roger Raymond "
    "Kevin Philip Trevor Gary Philip Frederick",
    1960: "David Paul Andrew Mark John Michael Stephen Ian Robert Richard Christopher Peter Simon "
    "Anthony Kevin Gary Steven Martin James Philip Alan Neil Nigel Timothy Colin Graham "
    "Darren Jeffrey Thomas Dean William Jonathan Barry Stuart",
    1970: "David Paul Mark Andrew Richard Christopher James Simon Michael Matthew Stephen Lee John "
    "Robert Darren Daniel Steven Jason Nicholas Jonathan Ian Neil Craig Gary Anthony Wayne "
    "Martin Carl Dean Scott Kevin Shaun Philip Gareth Thomas Alexander",
    1980: "Christopher Michael James David Daniel Andrew Matthew Richard Mark Paul Adam Thomas "
    "Robert Steven Jonathan Craig Lee Stephen Ryan Benjamin Carl Gareth Darren Liam Scott "
    "Anthony Dean Jamie Jason Shaun Kevin Gary Kyle Ashley Nicholas Joseph Alexander Sean",
    1990: "Thomas James Jack Daniel Matthew Ryan Joshua Luke Samuel Jordan Adam Michael Alexander "
    "Christopher Benjamin Joseph Liam Jake Lewis Callum Connor Kieran Nathan Jamie Bradley "
    "Scott Ashley Dean Kyle Aaron Sean Robert Craig William Anthony Jonathan Nicholas",
    2000: "Jack Thomas Joshua Daniel James Samuel William Joseph Oliver Harry Lewis Matthew Ethan "
    "Luke Callum Charlie Alfie Dylan Jake Connor Ryan Adam Liam Kyle Benjamin Alexander "
    "Cameron Mohammed Nathan George Jordan Kian Bradley Reece Tyler Max Owen Louis",
    2010: "Oliver Harry Jack Charlie George Jacob Noah Alfie Freddie Thomas Oscar Leo William "
    "James Joshua Archie Henry Ethan Isaac Max Lucas Mason Teddy Logan Theo Riley Alexander "
    "Joseph Harrison Tommy Finley Daniel Samuel Arthur Jaxon Reggie Frankie Louie",
    2020: "Noah Oliver George Arthur Muhammad Leo Harry Oscar Archie Henry Theodore Freddie Jack "
    "Charlie Theo Alfie Jacob Thomas Finley Arlo Tommy Lucas Teddy Albie Reggie Roman Jude "
    "Rory Ronnie Luca Max Hudson Louie Frankie",
}
_BRITISH_SURNAMES = (
    "Jones Smith Williams Roberts Hughes Davies Murphy Taylor Brown Evans Kelly Wilson Johnson "
    "Thomas Thompson Edwards Wright Walsh Lewis Doyle Ryan McDonald Harrison Clarke Green Hall "
    "Wood Jackson Morris Robinson White Martin Hill Moore Cooper Ward Turner Parry Owen "
    "Griffiths Kennedy Byrne Lynch O'Brien Quinn Gallagher McCarthy Fitzpatrick Keegan Molloy "
    "Sullivan Connolly Brennan Kavanagh Flanagan Duffy Rooney Carragher Fowler Gerrard Fairclough "
    "Dunne McCann Caldwell Birch Halliday Rimmer Lunt Tyrer Ashcroft Heaton Pennington Houghton "
    "Greenall Blundell Aspinall Ashton Crompton Molyneux Swift Cropper Lloyd Phillips Price "
    "Bennett Baker Parker Collins Stewart Campbell Anderson Scott Reid Kerr Mitchell Watson "
    "Jenkins Harris Morgan Cook Bell Shaw Marsh Lee Allen Young King Walker Wright Hughes Kay "
    "Carr Holmes Mills Dixon Gibson Pearson Webb Rogers Hunt Foster Simpson Powell Palmer "
    "Kenny Burke Nolan Donnelly Farrell Gorman Hanlon Maguire McGovern McKenna Mullen O'Neill "
    "O'Hara Reilly Rice Mooney Sheridan Cunningham Dolan Finnegan Hagan Jordan Lowe Rowe Hurst "
    "Atherton Topping Cain Boyle Coyle Donovan Fletcher Gill Graham Gray Hayes Higgins Hodgson "
    "Howard Kirby Knowles Leach Lees Lyons McGrath Melia Moran Nicholson Oakes Osborne Platt "
    "Quayle Riley Sharples Skelly Starkey Sumner Tarleton Unsworth Vickers Wainwright Whalley "
    "Yates Gerrity Fazakerley Formby Halewood Prescott Culshaw Seddon Tasker Gorton"
)

# Heritage groups found on Merseyside: (weight, female adult, male adult, female child, male child,
# surnames). An empty child list means the decade tables above.
_POLISH_SURNAMES = (
    "Nowak Kowalski Wiśniewski Wójcik Kowalczyk Kamiński Lewandowski Zieliński Szymański "
    "Woźniak Dąbrowski Kozłowski Mazur Jankowski Krawczyk Kaczmarek Piotrowski Grabowski"
)
_HERITAGE: dict[str, dict[str, Any]] = {
    "british": {"weight": 85.0},
    "irish": {
        "weight": 3.0,
        "female": "Siobhan Niamh Aoife Ciara Sinead Roisin Orla Mairead Bernadette Colette Aisling "
        "Clodagh Grainne Deirdre Maeve",
        "male": "Declan Ciaran Eoin Padraig Seamus Conor Liam Sean Aidan Cathal Darragh Fergal "
        "Niall Ronan Eamon",
        "female_child": "Niamh Aoife Ciara Saoirse Caoimhe Orla Roisin Erin Aisling Cara Maeve",
        "male_child": "Cian Oisin Conor Darragh Fionn Liam Sean Ronan Tadhg Cillian Rian",
        "surnames": "Murphy Kelly O'Sullivan Walsh O'Brien Byrne Ryan O'Connor O'Neill Reilly "
        "Doyle McCarthy Gallagher Doherty Kennedy Lynch Murray Quinn Moore McLaughlin Carroll "
        "Connolly Daly Connell Dunne Brennan Burke Collins Campbell Clarke",
    },
    "polish": {
        "weight": 3.0,
        "female": "Anna Katarzyna Magdalena Agnieszka Joanna Małgorzata Monika Aleksandra Natalia "
        "Karolina Paulina Justyna Ewa Marta Dorota Beata Sylwia Kinga",
        "male": "Piotr Krzysztof Tomasz Paweł Michał Marcin Łukasz Jakub Kamil Mateusz Adam Dawid "
        "Bartosz Marek Grzegorz Wojciech Rafał Sebastian",
        "female_child": "Zuzanna Julia Oliwia Lena Maja Amelia Hanna Zofia Wiktoria Alicja Natalia",
        "male_child": "Antoni Jan Szymon Filip Franciszek Aleksander Jakub Kacper Nikodem Wojciech",
        "surnames": _POLISH_SURNAMES,
    },
    "south_asian": {
        "weight": 2.5,
        "female": "Fatima Ayesha Aisha Zainab Maryam Amina Sana Nadia Shazia Samina Rukhsana "
        "Nasreen Farah Hina Saima Priya Anjali Sunita Rani Harpreet Jaspreet Simran",
        "male": "Mohammed Muhammad Ahmed Ali Imran Tariq Asif Bilal Usman Hamza Zain Adnan Shahid "
        "Amir Faisal Omar Rajesh Sanjay Amit Raj Harjit Gurpreet",
        "female_child": "Aisha Maryam Zara Inaya Hafsa Fatima Aleena Anaya Riya Eshal Zainab",
        "male_child": "Muhammad Ibrahim Yusuf Adam Musa Zayn Ayaan Aryan Eesa Hamza Rayyan",
        "surnames": "Khan Ahmed Hussain Ali Akhtar Shah Rahman Islam Miah Uddin Iqbal Mahmood "
        "Malik Butt Patel Sharma Kumar Choudhury Begum Kaur Singh",
    },
    "black_british": {
        "weight": 3.0,
        "female": "Grace Blessing Precious Chioma Adaeze Abena Ama Folake Funmilayo Nia Shanice "
        "Tanisha Keisha Aaliyah Jada Imani Amara Michelle Natasha Stacey",
        "male": "Kwame Kofi Chidi Emeka Tunde Olumide Femi Adebayo Tyrone Marcus Jermaine Dwayne "
        "Leon Andre Malachi Isaiah Elijah Kai Nathaniel Jayden Daniel Michael",
        "female_child": "Amara Nia Aaliyah Imani Zara Mya Tiana Ada Chloe Grace Destiny",
        "male_child": "Malachi Isaiah Elijah Kai Jayden Josiah Ezra Tobi Joshua Caleb Nathaniel",
        "surnames": "Okafor Okoye Adeyemi Adebayo Mensah Osei Boateng Asante Owusu Okonkwo "
        "Campbell Williams Brown Francis Thomas Johnson Clarke Grant Bailey Walker Morgan Reid "
        "Henry Samuels Ogunleye",
    },
    "somali_yemeni": {
        "weight": 1.5,
        "female": "Hodan Fadumo Hawa Ayan Sahra Amina Khadija Asha Halima Ifrah Nimco Safiya",
        "male": "Abdullahi Mohamed Ahmed Abdi Hassan Ali Omar Yusuf Ismail Abdirahman Khalid Saleh",
        "female_child": "Ayan Hafsa Sumaya Khadija Ikran Maryam Safiya Hamdi",
        "male_child": "Yusuf Abdullahi Ilyas Bilal Zakariya Mohamed Ayub Idris",
        "surnames": "Mohamed Abdi Hassan Omar Farah Warsame Jama Nur Ali Ahmed Yusuf Ismail "
        "Al-Saidi Saleh",
    },
    "chinese": {
        "weight": 1.5,
        "female": "Mei Li Xiu Hui Ying Jing Lan Yan Wing Sandy Mandy Jenny Annie",
        "male": "Wei Jun Ming Hao Jian Lei Kai Chi Kevin Eric Danny Tony",
        "female_child": "Chloe Emily Grace Isabella Mia Sophia Ella Jasmine",
        "male_child": "Ethan Lucas Ryan Jayden Aiden Oscar Noah Leo",
        "surnames": "Wong Chan Li Cheung Lau Ng Zhang Wang Liu Chen Lam Ho Yeung Leung",
    },
}

# Nicknames: canonical given name -> names that the same person is also recorded under.
NICKNAMES: dict[str, tuple[str, ...]] = {
    "William": ("Bill", "Will", "Billy"),
    "Katherine": ("Kate", "Katie", "Kath"),
    "Catherine": ("Cath", "Cathy", "Kate"),
    "Elizabeth": ("Liz", "Beth", "Lizzie"),
    "Robert": ("Rob", "Bob", "Robbie"),
    "Margaret": ("Maggie", "Peggy"),
    "Michael": ("Mike", "Mick", "Micky"),
    "Thomas": ("Tom", "Tommy"),
    "Jennifer": ("Jen", "Jenny"),
    "Christopher": ("Chris",),
    "Rebecca": ("Becky", "Becca"),
    "Daniel": ("Dan", "Danny"),
    "Samantha": ("Sam", "Sammy"),
    "Jonathan": ("Jon", "Jonny"),
    "Alexander": ("Alex",),
    "Victoria": ("Vicky", "Tori"),
    "Joseph": ("Joe", "Joey"),
    "Anthony": ("Tony", "Ant"),
    "Nicholas": ("Nick", "Nicky"),
    "Stephen": ("Steve", "Stevie"),
    "Steven": ("Steve",),
    "Deborah": ("Debbie", "Debs"),
    "James": ("Jim", "Jimmy", "Jamie"),
    "Richard": ("Rich", "Richie"),
    "Andrew": ("Andy",),
    "Matthew": ("Matt",),
    "Benjamin": ("Ben",),
    "Samuel": ("Sam",),
    "Jessica": ("Jess",),
    "Charlotte": ("Charlie", "Lottie"),
    "Abigail": ("Abbie", "Abi"),
    "Natalie": ("Nat",),
    "Stephanie": ("Steph",),
    "Patricia": ("Pat", "Trish"),
    "Susan": ("Sue",),
    "Jacqueline": ("Jackie",),
    "Kathleen": ("Kath",),
    "Christine": ("Chris",),
    "Philip": ("Phil",),
    "Timothy": ("Tim",),
    "Peter": ("Pete",),
    "David": ("Dave",),
    "Kenneth": ("Ken", "Kenny"),
    "Terence": ("Terry",),
    "Raymond": ("Ray",),
    "Joshua": ("Josh",),
    "Amanda": ("Mandy",),
    "Danielle": ("Dani",),
    "Alexandra": ("Alex", "Lexi"),
    "Isabella": ("Bella", "Izzy"),
    "Matilda": ("Tilly",),
    "Eleanor": ("Ellie",),
    "Theodore": ("Theo", "Teddy"),
    "Frederick": ("Fred",),
    "Henry": ("Harry",),
    "Oliver": ("Ollie",),
    "Gary": ("Gaz",),
    "Darren": ("Daz",),
    "Barry": ("Baz",),
    "Mohammed": ("Mo",),
    "Katarzyna": ("Kasia",),
    "Małgorzata": ("Gosia",),
    "Wojciech": ("Wojtek",),
    "Tomasz": ("Tomek",),
}

# Other spellings of the same name (the person did not change, the keyboard did).
_SPELLING_GROUPS = (
    ("Mohammed", "Muhammad", "Mohammad", "Mohamed"),
    ("Stephen", "Steven"),
    ("Katherine", "Catherine", "Kathryn"),
    ("Leanne", "Lianne"),
    ("Kayleigh", "Kayley", "Kaylee"),
    ("Sean", "Shaun", "Shawn"),
    ("Philip", "Phillip"),
    ("Lindsey", "Lindsay"),
    ("Tracey", "Tracy"),
    ("Hayley", "Haley"),
    ("Aaliyah", "Aliyah"),
    ("Jayden", "Jaden"),
    ("Isabelle", "Isobel"),
    ("Geoffrey", "Jeffrey"),
    ("Zoe", "Zoë"),
    ("Carly", "Carley"),
    ("Leah", "Lea"),
    ("Clarke", "Clark"),
    ("Davies", "Davis"),
    ("Thompson", "Thomson"),
    ("McDonald", "MacDonald"),
    ("O'Brien", "OBrien", "O Brien"),
    ("O'Neill", "O'Neil", "ONeill"),
    ("O'Hara", "OHara"),
    ("Hussain", "Hussein", "Husain"),
    ("Choudhury", "Chowdhury"),
    ("Phillips", "Philips"),
    ("Mohamed", "Mohammed"),
    ("Al-Saidi", "Alsaidi"),
)
_ASCII_FOLD = str.maketrans("ąćęłńóśźżĄĆĘŁŃÓŚŹŻë", "acelnoszzACELNOSZZe")


def _spellings() -> dict[str, tuple[str, ...]]:
    table: dict[str, list[str]] = {}
    for group in _SPELLING_GROUPS:
        for name in group:
            table.setdefault(name, [])
            table[name].extend(n for n in group if n != name and n not in table[name])
    return {k: tuple(v) for k, v in table.items()}


SPELLINGS = _spellings()

# Keyboard neighbours, for substitution typos.
_KEYS = ["qwertyuiop", "asdfghjkl", "zxcvbnm"]
_NEIGHBOURS: dict[str, str] = {}
for _r, _row in enumerate(_KEYS):
    for _c, _ch in enumerate(_row):
        near = [_row[i] for i in (_c - 1, _c + 1) if 0 <= i < len(_row)]
        for _dr in (-1, 1):
            if 0 <= _r + _dr < len(_KEYS):
                other = _KEYS[_r + _dr]
                near += [other[i] for i in (_c - 1, _c) if 0 <= i < len(other)]
        _NEIGHBOURS[_ch] = "".join(near)

# ---------------------------------------------------------------------------------------------
# Places
# ---------------------------------------------------------------------------------------------

# district -> (town as people write it, localities for line 2, relative weight of DA incidents)
_DISTRICTS: dict[str, tuple[str, tuple[str, ...], float]] = {
    "L1": ("Liverpool", ("City Centre",), 0.3),
    "L2": ("Liverpool", ("City Centre",), 0.1),
    "L3": ("Liverpool", ("Vauxhall", "Everton"), 0.6),
    "L4": ("Liverpool", ("Walton", "Kirkdale", "Anfield"), 1.7),
    "L5": ("Liverpool", ("Everton", "Anfield", "Kirkdale"), 1.5),
    "L6": ("Liverpool", ("Kensington", "Fairfield", "Tuebrook"), 1.5),
    "L7": ("Liverpool", ("Edge Hill", "Kensington"), 1.1),
    "L8": ("Liverpool", ("Toxteth", "Dingle"), 1.6),
    "L9": ("Liverpool", ("Aintree", "Fazakerley", "Orrell Park"), 1.4),
    "L10": ("Liverpool", ("Fazakerley",), 0.8),
    "L11": ("Liverpool", ("Norris Green", "Croxteth", "Clubmoor"), 1.6),
    "L12": ("Liverpool", ("West Derby", "Croxteth"), 1.1),
    "L13": ("Liverpool", ("Old Swan", "Tuebrook"), 1.2),
    "L14": ("Liverpool", ("Knotty Ash", "Broadgreen"), 1.1),
    "L15": ("Liverpool", ("Wavertree",), 1.0),
    "L16": ("Liverpool", ("Childwall",), 0.6),
    "L17": ("Liverpool", ("Aigburth",), 0.8),
    "L18": ("Liverpool", ("Allerton", "Mossley Hill"), 0.6),
    "L19": ("Liverpool", ("Garston", "Aigburth"), 0.9),
    "L24": ("Liverpool", ("Speke",), 1.3),
    "L25": ("Liverpool", ("Woolton", "Gateacre"), 0.7),
    "L26": ("Halewood", (), 0.7),
    "L27": ("Liverpool", ("Netherley",), 1.1),
    "L28": ("Liverpool", ("Stockbridge Village",), 1.2),
    "L32": ("Kirkby", ("Northwood", "Tower Hill"), 1.3),
    "L33": ("Kirkby", ("Southdene", "Westvale"), 1.1),
    "L34": ("Prescot", ("Knowsley Village",), 0.8),
    "L35": ("Prescot", ("Whiston", "Rainhill"), 0.8),
    "L36": ("Huyton", ("Page Moss", "Roby"), 1.4),
    "L20": ("Bootle", ("Orrell", "Derby Park"), 1.5),
    "L21": ("Liverpool", ("Litherland", "Seaforth", "Ford"), 1.1),
    "L22": ("Liverpool", ("Waterloo",), 0.7),
    "L23": ("Liverpool", ("Crosby", "Blundellsands"), 0.6),
    "L29": ("Liverpool", ("Sefton Village",), 0.2),
    "L30": ("Bootle", ("Netherton",), 1.2),
    "L31": ("Liverpool", ("Maghull", "Lydiate"), 0.7),
    "L37": ("Liverpool", ("Formby",), 0.5),
    "L38": ("Liverpool", ("Hightown", "Ince Blundell"), 0.2),
    "PR8": ("Southport", ("Birkdale", "Ainsdale"), 0.9),
    "PR9": ("Southport", ("Churchtown", "Crossens"), 0.9),
    "WA9": ("St Helens", ("Sutton", "Clock Face", "Parr"), 1.4),
    "WA10": ("St Helens", ("Windle", "Eccleston", "Thatto Heath"), 1.2),
    "WA11": ("St Helens", ("Haydock", "Rainford", "Blackbrook"), 1.0),
    "WA12": ("Newton-le-Willows", ("Earlestown",), 0.8),
    "CH41": ("Birkenhead", ("Birkenhead North", "Bidston"), 1.6),
    "CH42": ("Birkenhead", ("Tranmere", "Rock Ferry"), 1.3),
    "CH43": ("Prenton", ("Oxton", "Claughton", "Noctorum"), 1.0),
    "CH44": ("Wallasey", ("Seacombe", "Poulton", "Liscard"), 1.3),
    "CH45": ("Wallasey", ("New Brighton",), 0.9),
    "CH46": ("Wirral", ("Moreton", "Leasowe"), 1.1),
    "CH47": ("Wirral", ("Hoylake", "Meols"), 0.5),
    "CH48": ("Wirral", ("West Kirby", "Caldy"), 0.4),
    "CH49": ("Wirral", ("Upton", "Greasby", "Woodchurch"), 0.9),
    "CH60": ("Heswall", (), 0.4),
    "CH61": ("Wirral", ("Pensby", "Thingwall", "Irby"), 0.5),
    "CH62": ("Wirral", ("Bromborough", "Eastham", "Port Sunlight"), 0.9),
    "CH63": ("Wirral", ("Bebington", "Spital", "Higher Bebington"), 0.7),
}
_TOWN_BY_AREA = {"L": "Liverpool", "CH": "Wirral", "PR": "Southport", "WA": "St Helens"}

_STREETS = [
    "Church Road",
    "Park Road",
    "Queens Drive",
    "Derby Road",
    "Stanley Road",
    "Walton Road",
    "County Road",
    "Breck Road",
    "Smithdown Road",
    "Lodge Lane",
    "Park Lane",
    "Mill Lane",
    "Station Road",
    "Green Lane",
    "Victoria Road",
    "Albert Road",
    "Grange Road",
    "Oxton Road",
    "Borough Road",
    "Laird Street",
    "Poulton Road",
    "Liscard Road",
    "Seaview Road",
    "Brighton Street",
    "Hoylake Road",
    "Woodchurch Road",
    "New Chester Road",
    "Bedford Road",
    "Knowsley Road",
    "Westminster Road",
    "Rice Lane",
    "Cherry Lane",
    "Utting Avenue",
    "Townsend Lane",
    "Muirhead Avenue",
    "Lower Breck Road",
    "Tuebrook Road",
    "Green Street",
    "Oakfield Road",
    "Belmont Road",
    "Sheil Road",
    "Kensington",
    "Edge Lane",
    "Prescot Road",
    "Longmoor Lane",
    "Moss Lane",
    "Dovecot Avenue",
    "Pilch Lane",
    "Mather Avenue",
    "Aigburth Road",
    "Garston Old Road",
    "Speke Road",
    "Western Avenue",
    "Hale Road",
    "Netherley Road",
    "Roby Road",
    "Huyton Lane",
    "Princess Drive",
    "Bewley Drive",
    "Moorfield",
    "Roughwood Drive",
    "Cherryfield Drive",
    "Whitefield Drive",
    "Knowsley Lane",
    "Warrington Road",
    "Eccleston Street",
    "Boundary Road",
    "Parr Stocks Road",
    "Elephant Lane",
    "Robins Lane",
    "Clock Face Road",
    "Vista Road",
    "Crow Lane East",
    "Market Street",
    "Lord Street",
    "Liverpool Road",
    "Sussex Road",
    "Scarisbrick New Road",
    "Marshside Road",
    "Hawthorne Road",
    "Linacre Lane",
    "Knowsley Road",
    "Sefton Road",
    "Moss Side",
    "Marian Way",
    "Bridle Road",
    "Liverpool Road North",
    "Eastway",
    "Hall Lane",
    "Duke Street",
    "Hope Street",
    "Beech Street",
    "Elm Road",
    "Ash Grove",
    "Oak Avenue",
    "Sycamore Road",
    "Chestnut Close",
    "Hawthorn Road",
    "Maple Close",
    "Willow Way",
    "Rowan Drive",
    "Laburnum Road",
    "Lilac Grove",
    "Holly Road",
    "Ivy Avenue",
    "Primrose Road",
    "Bluebell Close",
    "Heather Close",
    "Fern Grove",
    "Windsor Road",
    "Balmoral Road",
    "Sandringham Drive",
    "York Road",
    "Lancaster Avenue",
    "Chester Road",
    "Shrewsbury Road",
    "Worcester Road",
    "Salisbury Road",
    "Essex Street",
    "Kent Road",
    "Devon Street",
    "Cornwall Close",
    "Dorset Avenue",
    "Surrey Street",
    "Norfolk Street",
    "Rathbone Road",
    "Picton Road",
    "Wellington Road",
    "Nelson Street",
    "Trafalgar Road",
    "Garibaldi Road",
    "Cavendish Road",
    "Newsham Road",
    "Anfield Road",
    "Arkles Lane",
    "Goodison Road",
    "Bullens Road",
    "Spellow Lane",
    "Priory Road",
    "Orrell Lane",
    "Longview Drive",
    "Seel Road",
    "Pottery Lane",
    "Bakers Green Road",
    "Page Moss Lane",
    "Cartbridge Lane",
    "Broadway",
    "The Crescent",
    "The Avenue",
    "Meadow Lane",
    "Brook Street",
    "Hillside Road",
    "Field Lane",
    "Northway",
    "Southway",
    "Central Avenue",
    "Manor Road",
    "Vicarage Close",
    "School Lane",
    "Chapel Street",
]
_BUILDINGS = [
    "Sefton Court",
    "Mersey View",
    "Kingsway House",
    "Dunstan Court",
    "Canning Court",
    "Alder Court",
    "Brunswick House",
    "Marine Court",
    "Harbour View",
    "Prince's Court",
    "Riverside House",
    "Park View",
]

# ---------------------------------------------------------------------------------------------
# Risk
# ---------------------------------------------------------------------------------------------

# ACPO DASH 2009 questions 1-27: how often each is answered yes, relative to the others.
_DASH27_YES_WEIGHT = (
    0.45,
    0.70,
    0.60,
    0.35,
    0.40,
    0.50,
    0.25,
    0.40,
    0.20,
    0.20,
    0.08,
    0.08,
    0.40,
    0.40,
    0.55,
    0.20,
    0.20,
    0.20,
    0.15,
    0.10,
    0.30,
    0.08,
    0.35,
    0.50,
    0.25,
    0.15,
    0.50,
)
# DASH 27 questions about children: 7 contact conflict, 9 pregnancy / baby, 10 other children,
# 11 hurt the children, 12 threatened the children.
_CHILD_QUESTIONS = frozenset((7, 10, 11, 12))
_PREGNANCY_QUESTION = 9
# The SafeLives RIC 24 asks the DASH 27 core without questions 10-12: RIC n -> DASH n or n + 3.
_RIC_TO_DASH = tuple(n if n <= 9 else n + 3 for n in range(1, 25))

# DASH 27 question -> how an officer would say it in a rationale.
_RATIONALE_PHRASE = {
    1: "injuries in this incident",
    2: "victim very frightened",
    4: "victim isolated from family and friends",
    5: "victim low and having suicidal thoughts",
    6: "recent separation",
    7: "conflict over child contact",
    8: "constant calls, texts and following",
    9: "victim pregnant or with a young baby",
    11: "suspect has hurt the children",
    12: "threats to harm the children",
    13: "escalating frequency",
    14: "abuse getting worse",
    15: "controlling and jealous behaviour",
    16: "use of weapons",
    17: "threats to kill",
    18: "strangulation",
    19: "sexual abuse",
    21: "suspect violent to others",
    22: "cruelty to a pet",
    24: "suspect's drug and alcohol misuse",
    25: "suspect has threatened suicide",
    26: "breach of bail conditions",
    27: "suspect's history of violence",
}
_RATIONALE_ORDER = (18, 17, 16, 13, 14, 6, 9, 12, 11, 19, 8, 15, 26, 27, 1, 25, 21, 24, 7)
_JUDGEMENT_REASONS = (
    "Raised to {grade} on professional judgement: {why}.",
    "Graded {grade} on officer's judgement despite the score: {why}.",
    "Professional judgement ({grade}): {why}; victim minimising.",
    "Professional judgement: {why}. Previous incidents at the address.",
)
_STANDARD_RATIONALES = (
    "Verbal argument only; victim feels safe and is staying with family.",
    "No injuries, no previous incidents known; victim does not want police action.",
    "First reported incident; both parties calm on police arrival.",
    "Low-level dispute over property; parties separated.",
    "Suspect left the address; victim has support from family.",
)

# ---------------------------------------------------------------------------------------------
# Stories
# ---------------------------------------------------------------------------------------------

_OPENINGS = (
    "Officers attended following a 999 call from the victim.",
    "Officers attended after a neighbour reported shouting and banging.",
    "A child in the house rang 999 asking for the police.",
    "Third-party call from the victim's mother.",
    "Victim attended the front counter to report the incident.",
    "Passer-by reported an argument in the street outside the address.",
    "Call from the victim's friend, who had received a worried text.",
    "Officers attended on a call-back after an abandoned 999 call.",
)
_INJURY_TEXT = (
    "Victim had a cut lip and bruising to the face.",
    "Victim had red marks to the neck.",
    "Victim had bruising to both arms where {vshe} had been grabbed.",
    "Victim complained of pain to the head; ambulance declined.",
    "Victim had a swollen eye and a cut to the hand.",
)
_NO_INJURY_TEXT = (
    "No visible injuries.",
    "Victim was distressed but uninjured.",
    "Verbal argument; no injuries.",
    "Property damaged in the kitchen; no injuries.",
    "Victim shaken, no injuries seen.",
)
_ARRESTED_TEXT = (
    "Suspect arrested at the scene.",
    "Suspect located nearby and arrested.",
    "Suspect arrested and taken into custody.",
)
_NOT_ARRESTED_TEXT = (
    "Suspect had left before officers arrived; circulated as wanted.",
    "Suspect left the address on police advice.",
    "Suspect not arrested; victim did not support police action.",
    "Suspect not present; enquiries ongoing.",
)
_FACTOR_TEXT = {
    6: "Victim has tried to end the relationship in the past year.",
    7: "Ongoing dispute over contact with the children.",
    8: "Victim reports {she} keeps turning up at {vher} work and messaging constantly.",
    13: "Victim says incidents are happening more often.",
    15: "Victim says {she} checks {vher} phone and controls the money.",
    16: "A knife was used to threaten the victim.",
    17: "Suspect said {she} would kill {vher} if {vshe} called the police.",
    18: "Victim says {vshe} was held by the throat.",
    24: "Suspect had been drinking heavily.",
    26: "Suspect is on bail with conditions not to contact the victim.",
}
_VOICE = (
    "Said {she} hid in {her} room.",
    "Told officers {suspect} was shouting at {parent}.",
    "Was crying and did not want to speak to officers.",
    "Said {she} {gets} scared when {suspect} drinks.",
    "Quiet and withdrawn; stayed close to {parent} throughout.",
    "Said this happens a lot.",
    "Asked if {parent} was going to be OK.",
    "Said {she} called the police.",
    "Said {she} covered {her} ears and turned the TV up.",
    "Appeared unsettled but chatted to officers about school.",
    "Said {she} {wants} {suspect} to leave.",
    "Was awake and heard everything, per {parent}.",
)
_PRONOUNS = {"M": ("he", "his", "him"), "F": ("she", "her", "her"), "U": ("they", "their", "them")}
_OFFENCES_CRIME_BY_GRADE = {
    "standard": (
        ("Common assault", 5),
        ("Criminal damage", 3),
        ("Harassment", 2),
        ("Malicious communications", 2),
        ("Public order offence (section 4A)", 2),
        ("Theft", 1),
    ),
    "medium": (
        ("Common assault", 4),
        ("Assault occasioning actual bodily harm", 3),
        ("Criminal damage", 2),
        ("Controlling or coercive behaviour", 2),
        ("Harassment", 2),
        ("Stalking", 1),
        ("Breach of non-molestation order", 1),
    ),
    "high": (
        ("Assault occasioning actual bodily harm", 5),
        ("Non-fatal strangulation", 3),
        ("Threats to kill", 2),
        ("Controlling or coercive behaviour", 2),
        ("Wounding with intent (section 18)", 1),
        ("Stalking", 1),
        ("Rape", 0.5),
        ("Breach of non-molestation order", 1),
    ),
}
_FACTOR_OFFENCE = {
    18: "Non-fatal strangulation",
    17: "Threats to kill",
    16: "Possession of an offensive weapon",
    26: "Breach of bail conditions",
}

# ---------------------------------------------------------------------------------------------
# Time
# ---------------------------------------------------------------------------------------------

# Relative incident weight for each hour of the day, Monday to Friday daytime shape.
_HOUR_PROFILE = (
    2.3,
    1.8,
    1.3,
    0.9,
    0.6,
    0.45,
    0.45,
    0.55,
    0.75,
    0.85,
    0.95,
    1.0,
    1.05,
    1.1,
    1.15,
    1.25,
    1.4,
    1.6,
    1.85,
    2.1,
    2.3,
    2.45,
    2.5,
    2.5,
)
_WEEKDAY_FACTOR = (0.97, 0.92, 0.92, 0.95, 1.03, 1.14, 1.12)  # Mon..Sun
_MONTH_FACTOR = (1.05, 0.9, 0.95, 0.97, 1.0, 1.03, 1.05, 1.03, 0.98, 0.98, 0.97, 1.05)
_SPECIAL_DAYS = {(12, 25): 1.35, (12, 26): 1.3, (1, 1): 1.4}


def hour_of_week_weights() -> tuple[float, ...]:
    """168 weights, Monday 00:00 first: the shape of when domestic abuse is reported."""
    weights: list[float] = []
    for wd in range(7):
        for h in range(24):
            w = _HOUR_PROFILE[h] * _WEEKDAY_FACTOR[wd]
            # Friday and Saturday nights (the small hours of Saturday and Sunday) are the peak;
            # Sunday night into Monday is heavy too.
            if h < 5 and wd in (5, 6):
                w *= 1.8
            elif h < 5 and wd == 0:
                w *= 1.25
            elif (h >= 17 and wd in (4, 5)) or (10 <= h < 17 and wd in (5, 6)):
                w *= 1.15
            weights.append(w)
    return tuple(weights)


# ---------------------------------------------------------------------------------------------
# Identifiers
# ---------------------------------------------------------------------------------------------


def nhs_check_digit(nine: str) -> int | None:
    """Modulus 11 check digit of the first nine digits; None when no valid number exists."""
    total = sum(int(d) * w for d, w in zip(nine, range(10, 1, -1), strict=True))
    check = 11 - total % 11
    if check == 11:
        return 0
    return None if check == 10 else check


def upn_check_letter(twelve: str) -> str:
    """DfE unique pupil number check letter for characters 2-13 (weights 2..13, modulus 23)."""
    total = sum(int(c) * w for c, w in zip(twelve, range(2, 14), strict=True))
    return "ABCDEFGHJKLMNPQRTUVWXYZ"[total % 23]


def _pnc_check(year: int, serial: int) -> str:
    """PNC ID check character: the two-digit year and the serial, as one number, modulus 23."""
    return "ZABCDEFGHJKLMNPQRTUVWXY"[(year * 10_000_000 + serial) % 23]


# ---------------------------------------------------------------------------------------------
# The model of households and people
# ---------------------------------------------------------------------------------------------


class _Address:
    __slots__ = ("district", "la", "line1", "line2", "postcode", "town")

    def __init__(
        self, line1: str, line2: str | None, town: str, district: str, la: str, postcode: str
    ) -> None:
        self.line1, self.line2, self.town = line1, line2, town
        self.district, self.la, self.postcode = district, la, postcode


class _Person:
    """One person as the truth knows them. What is usually absent is a class default, so that
    making a person costs little."""

    maiden: str | None = None
    nhs: str | None = None
    pnc: str | None = None
    upn: str | None = None
    address: _Address | None = None
    lives_home = True
    school_mode = "known"
    unknown_urn: str | None = None
    schools: dict[str, str]  # children only

    def __init__(
        self, pid: int, given: str, family: str, sex: str, dob: dt.date | None, heritage: str
    ) -> None:
        self.pid, self.given, self.family, self.sex, self.dob = pid, given, family, sex, dob
        self.dob_s = dob.isoformat() if dob is not None else None
        self.heritage = heritage


class _Child:
    """A child in a household: the person, how they are related to the suspect."""

    __slots__ = ("person", "suspect_rel", "victim_rel")

    def __init__(self, person: _Person, victim_rel: str, suspect_rel: str | None) -> None:
        self.person, self.victim_rel, self.suspect_rel = person, victim_rel, suspect_rel


class _Household:
    __slots__ = (
        "address",
        "children",
        "edd",
        "heritage",
        "hid",
        "notices",
        "other",
        "rel",
        "schools",
        "suspect",
        "suspect_address",
        "unborn",
        "victim",
    )

    def __init__(self, hid: int) -> None:
        self.hid = hid
        self.victim: _Person
        self.suspect: _Person
        self.rel = "partner"  # suspect -> victim
        self.heritage = "british"
        self.address: _Address
        self.suspect_address: _Address | None = None
        self.children: list[_Child] = []
        self.unborn: _Person | None = None
        self.edd: dt.date | None = None
        self.other: tuple[_Person, str] | None = None
        self.notices = 0
        self.schools: dict[tuple[str, str], str] = {}


# ---------------------------------------------------------------------------------------------
# The generator
# ---------------------------------------------------------------------------------------------

_REPEAT_SHARE = 0.25  # victims with another notification within 12 months
_MORE_REPEATS = 0.42  # a household that came back comes back again
_MINUTE = 60
_DAY = 86400


class _Generator:
    def __init__(
        self,
        *,
        count: int,
        seed: int,
        start: dt.date,
        days: int,
        force_code: str,
        reference: Reference,
        instrument_mix: Mapping[str, float] | None,
        labels: bool,
        shard: int = 0,
        shards: int = 1,
    ) -> None:
        if count < 0:
            raise ValueError("count must not be negative")
        if days < 1:
            raise ValueError("days must be at least 1")
        self.count, self.start, self.days, self.force = count, start, days, force_code
        self.ref = reference
        self.labels = labels
        self.rng = random.Random(seed)
        self.end = start + dt.timedelta(days=days)
        self.end_ts = int(
            dt.datetime(self.end.year, self.end.month, self.end.day, tzinfo=LONDON).timestamp()
        )
        mix = dict(instrument_mix or DEFAULT_INSTRUMENT_MIX)
        unknown = set(mix) - set(INSTRUMENTS)
        if unknown:
            raise ValueError(f"unknown instruments: {sorted(unknown)}")
        self.instruments = _Table([(k, mix[k]) for k in INSTRUMENTS if mix.get(k, 0) > 0])
        self._build_tables()
        # People and households are numbered across shards without a clash: n * shards + shard.
        self.next_pid = shards + shard
        self.next_hid = shards + shard
        self.id_step = shards
        self.queue: list[tuple[int, int, _Household]] = []
        self.repeat_p = min(0.6, _REPEAT_SHARE / self._seen_again_share())

    # -- tables ---------------------------------------------------------------------------------

    def _build_tables(self) -> None:
        ref = self.ref
        districts = [d for d in ref.district_la if ref.district_la[d]]
        if not districts:
            raise ValueError("the reference has no postcode districts")
        self.districts = _Table([(d, _DISTRICTS.get(d, ("", (), 1.0))[2]) for d in districts])
        self.districts_by_la: dict[str, _Table] = {}
        for la in sorted({la for d in districts for la in ref.district_la[d]}):
            pairs = [
                (d, _DISTRICTS.get(d, ("", (), 1.0))[2])
                for d in districts
                if la in ref.district_la[d]
            ]
            self.districts_by_la[la] = _Table(pairs)
        self.schools: dict[tuple[str, str], list[str]] = {}
        for school in ref.schools:
            self.schools.setdefault((school.la_code, school.phase), []).append(school.urn)
        self.known_urns = frozenset(s.urn for s in ref.schools)
        self.urn_la = {s.urn: s.la_code for s in ref.schools}
        # district -> (council codes, town, localities)
        self.places: dict[str, tuple[tuple[str, ...], str, tuple[str, ...]]] = {}
        for d in districts:
            town, localities, _ = _DISTRICTS.get(d, ("", (), 1.0))
            if not town:
                town = _TOWN_BY_AREA.get(d.rstrip("0123456789"), "Merseyside")
            self.places[d] = (ref.district_la[d], town, localities)
        letters = POSTCODE_UNIT_LETTERS
        self.inward = [f"{n}{a}{b}" for n in range(10) for a in letters for b in letters]

        self.heritages = _Table([(k, v["weight"]) for k, v in _HERITAGE.items()])
        self.given: dict[tuple[str, str, int], _Table] = {}
        for decade, names in _BRITISH_FEMALE.items():
            self.given["british", "F", decade] = _table(names)
        for decade, names in _BRITISH_MALE.items():
            self.given["british", "M", decade] = _table(names)
        # british_given[sex][decade index]: 1940s, 1950s, ... 2020s
        self.british_given = {
            sex: [self.given["british", sex, 1940 + 10 * i] for i in range(9)] for sex in "FM"
        }
        self.surnames: dict[str, _Table] = {"british": _table(_BRITISH_SURNAMES, s=0.9, q=9)}
        for name, spec in _HERITAGE.items():
            if name == "british":
                continue
            self.given[name, "F", 0] = _table(spec["female"])
            self.given[name, "M", 0] = _table(spec["male"])
            self.given[name, "F", 1] = _table(spec["female_child"])
            self.given[name, "M", 1] = _table(spec["male_child"])
            self.surnames[name] = _table(spec["surnames"], s=0.8, q=3)
        self.streets = _table(_STREETS, s=0.5, q=10)
        self.officer_surnames = self.surnames["british"]

        self.how = hour_of_week_weights()
        self.hours_by_weekday = [
            _Table([(h, self.how[wd * 24 + h]) for h in range(24)]) for wd in range(7)
        ]
        self.minutes_by_weekday = [
            _Table([(m, self.how[wd * 24 + m // 60]) for m in range(1440)]) for wd in range(7)
        ]
        self.child_count = _Table([(1, 44), (2, 33), (3, 16), (4, 7)])
        self.child_age = _Table(
            [
                (a, w)
                for a, w in enumerate(
                    (
                        1.6,
                        1.35,
                        1.3,
                        1.25,
                        1.2,
                        1.1,
                        1.05,
                        1.0,
                        1.0,
                        0.95,
                        0.95,
                        0.9,
                        0.9,
                        0.85,
                        0.85,
                        0.8,
                        0.75,
                        0.7,
                    )
                )
            ]
        )
        self.victim_age = _Table(
            [
                ((18, 24), 18),
                ((25, 34), 33),
                ((35, 44), 26),
                ((45, 54), 14),
                ((55, 64), 6),
                ((65, 85), 3),
            ]
        )
        self.grades = _Table([("standard", 55), ("medium", 30), ("high", 15)])
        self.standard_yes = _Table(
            [(k, w) for k, w in enumerate((4, 6, 9, 11, 12, 12, 11, 9, 7, 5))]
        )
        self.medium_yes = _Table([(10, 35), (11, 28), (12, 22), (13, 15)])
        self.high_yes = _Table(
            [(14 + i, w) for i, w in enumerate((16, 14, 12, 10, 9, 8, 7, 5, 4, 3, 2))]
        )
        self.judgement_yes = _Table([(k, k - 3.0) for k in range(5, 14)])
        self.consent = _Table([("given", 45), ("refused", 15), ("not_sought", 30), (None, 10)])
        self.offences = {g: _Table(v) for g, v in _OFFENCES_CRIME_BY_GRADE.items()}
        self.not_known_count = _Table([(0, 50), (1, 27), (2, 13), (3, 7), (4, 3)])
        self.banks: dict[tuple[str, bool, bool], list[tuple[int, ...]]] = {}
        self.forms: dict[
            tuple[str, bool, bool, int, int],
            tuple[tuple[int, ...], int, tuple[str, ...], frozenset[int], str],
        ] = {}

        # Officers: a few hundred, some much busier than others.
        rng = random.Random(self.rng.getrandbits(64))
        officers: list[tuple[tuple[str, str, str], float]] = []
        collars: set[int] = set()
        ranks = _Table([("PC", 85), ("DC", 8), ("PS", 5), ("SC", 2)])
        for _ in range(400):
            collar = rng.randrange(1000, 9999)
            while collar in collars:
                collar = rng.randrange(1000, 9999)
            collars.add(collar)
            surname = self.officer_surnames.pick(rng.random())
            initial = rng.choice("AABCCDDEGHJJKLMMNPRRSSTW")
            name = f"{ranks.pick(rng.random())} {initial} {surname}"
            email = f"{initial.lower()}.{surname.lower().replace(chr(39), '')}@police.example"
            officers.append(((str(collar), name, email), 1.0 / (len(officers) + 20)))
        self.officers = _Table(officers)

        # Words that depend on who is who, ready written: the voice of a child for each (child's
        # sex, victim's sex, suspect's sex, whether the suspect is the child's parent), and the
        # story for each (victim's sex, suspect's sex).
        self.voices: dict[tuple[str, str, str, bool], tuple[str, ...]] = {}
        self.stories: dict[tuple[str, str], tuple[tuple[str, ...], dict[int, str]]] = {}
        for vsex in "MF":
            vshe, vher, _ = _PRONOUNS[vsex]
            parent_word = "mum" if vsex == "F" else "dad"
            for ssex in "MF":
                sshe, _, _ = _PRONOUNS[ssex]
                words = {"vshe": vshe, "vher": vher, "she": sshe}
                self.stories[vsex, ssex] = (
                    tuple(t.format(**words) for t in _INJURY_TEXT),
                    {q: t.format(**words) for q, t in _FACTOR_TEXT.items()},
                )
                for csex in "MFU":
                    she, her, _ = _PRONOUNS[csex]
                    for is_parent in (True, False):
                        partner_word = "boyfriend" if ssex == "M" else "girlfriend"
                        suspect = (
                            f"{her} {'dad' if ssex == 'M' else 'mum'}"
                            if is_parent
                            else f"{her} {parent_word}'s {partner_word}"
                        )
                        self.voices[csex, vsex, ssex, is_parent] = tuple(
                            v.format(
                                she=she,
                                her=her,
                                parent=f"{her} {parent_word}",
                                suspect=suspect,
                                gets="get" if csex == "U" else "gets",
                                wants="want" if csex == "U" else "wants",
                            )
                            for v in _VOICE
                        )

    def _bank(self, instrument: str, has_children: bool, baby: bool) -> list[tuple[int, ...]]:
        """Weighted random orders of the questions that may be answered yes (Efraimidis-Spirakis:
        sorting by E/w, E exponential, gives a weighted sample without replacement)."""
        rnd = self.rng.random
        questions = _RIC_TO_DASH if instrument == "SAFELIVES_RIC_24" else _DASH_IDENTITY
        forced: list[int] = []
        candidates: list[tuple[int, float]] = []
        for qn, dq in enumerate(questions, 1):
            if dq == _PREGNANCY_QUESTION:
                if baby:
                    forced.append(qn)
                continue
            if dq in _CHILD_QUESTIONS and not has_children:
                continue
            candidates.append((qn, _DASH27_YES_WEIGHT[dq - 1]))
        bank = []
        for _ in range(_BANK_SIZE):
            keyed = sorted((-math.log(1.0 - rnd()) / w, qn) for qn, w in candidates)
            bank.append((*forced, *(qn for _, qn in keyed)))
        self.banks[instrument, has_children, baby] = bank
        return bank

    def _form(
        self, instrument: str, has_children: bool, baby: bool, index: int, k: int
    ) -> tuple[tuple[int, ...], int, tuple[str, ...], frozenset[int], str]:
        """The answers with k yes (the first k of a weighted order), made once and kept: the
        order, how many yes, the yes/no answers, the DASH 27 questions answered yes, and how an
        officer would sum them up."""
        bank = self.banks.get((instrument, has_children, baby))
        if bank is None:
            bank = self._bank(instrument, has_children, baby)
        order = bank[index]
        yes_q = order[:k]
        questions = _RIC_TO_DASH if instrument == "SAFELIVES_RIC_24" else _DASH_IDENTITY
        values = ["no"] * len(questions)
        for qn in yes_q:
            values[qn - 1] = "yes"
        factors = frozenset(questions[qn - 1] for qn in yes_q)
        phrases = [_RATIONALE_PHRASE[q] for q in _RATIONALE_ORDER if q in factors][:3]
        why = ", ".join(phrases or ["previous incidents", "victim's fear of the suspect"])
        form = (order, len(yes_q), tuple(values), factors, why)
        self.forms[instrument, has_children, baby, index, k] = form
        return form

    def _gap_days(self, rnd: Callable[[], float]) -> float:
        """Days until a household's next notification (always within 12 months)."""
        while True:
            if rnd() < 0.35:
                gap = 1.0 - 10.0 * math.log(1.0 - rnd())
            else:
                gap = 3.0 - 110.0 * math.log(1.0 - rnd())
            if gap < 360.0:
                return gap

    def _seen_again_share(self) -> float:
        """Of households that will come back, the share whose return falls inside the window."""
        rng = random.Random(7)
        gaps = [self._gap_days(rng.random) for _ in range(4000)]
        mean_cut = sum(min(g, self.days) for g in gaps) / len(gaps)
        return max(0.05, 1.0 - mean_cut / self.days)

    # -- the stream -----------------------------------------------------------------------------

    def __iter__(self) -> Iterator[tuple[int, int, dict[str, Any], dict[str, Any] | None]]:
        """(occurred timestamp, index, body, label) in the order the incidents happened."""
        rng = self.rng
        index = 0
        day_weights = []
        for i in range(self.days):
            day = self.start + dt.timedelta(days=i)
            w = self.hours_by_weekday[day.weekday()].total * _MONTH_FACTOR[day.month - 1]
            day_weights.append(w * _SPECIAL_DAYS.get((day.month, day.day), 1.0))
        remaining_weight = sum(day_weights)
        remaining = self.count
        for i, weight in enumerate(day_weights):
            if remaining <= 0:
                break
            if i == self.days - 1:
                k = remaining
            else:
                p = min(1.0, weight / remaining_weight) if remaining_weight > 0 else 1.0
                k = rng.binomialvariate(remaining, p)
            remaining_weight -= weight
            remaining -= k
            if not k:
                continue
            day = self.start + dt.timedelta(days=i)
            table = self.minutes_by_weekday[day.weekday()]
            cum, total, rnd = table.cum, table.total, rng.random
            minutes = sorted([bisect_right(cum, rnd() * total) for _ in range(k)])
            midnight = dt.datetime(day.year, day.month, day.day, tzinfo=LONDON)
            base = int(midnight.timestamp())
            same_offset = midnight.utcoffset() == (midnight + dt.timedelta(days=1)).utcoffset()
            if same_offset:
                stamps = [base + minute * 60 for minute in minutes]
            else:  # the day the clocks change: a time in the missing hour is read an hour on
                stamps = sorted(
                    int(
                        dt.datetime(
                            day.year, day.month, day.day, m // 60, m % 60, tzinfo=LONDON
                        ).timestamp()
                    )
                    for m in minutes
                )
            for ts in stamps:
                index += 1
                yield (ts, index, *self._notification(day, ts))

    # -- people ---------------------------------------------------------------------------------

    def _pid(self) -> int:
        pid = self.next_pid
        self.next_pid += self.id_step
        return pid

    def _given(self, heritage: str, sex: str, birth_year: int) -> str:
        if sex == "U":
            sex = "F" if self.rng.random() < 0.5 else "M"
        if heritage == "british":
            decade = min(2020, max(1940, birth_year // 10 * 10))
            table = self.given["british", sex, decade]
        else:
            table = self.given[heritage, sex, 1 if birth_year >= 2005 else 0]
        return str(table.pick(self.rng.random()))

    def _surname(self, heritage: str, sex: str) -> str:
        name = str(self.surnames[heritage].pick(self.rng.random()))
        if heritage == "polish" and sex == "F":
            name = _polish_feminine(name)
        elif name in ("Begum", "Kaur") and sex != "F":
            name = "Singh" if name == "Kaur" else "Ahmed"
        elif name == "Singh" and sex == "F":
            name = "Kaur"
        return name

    def _dob(self, on: dt.date, age: int) -> dt.date:
        """A date of birth that makes someone `age` (give or take a day) on `on`."""
        return dt.date.fromordinal(on.toordinal() - int((age + self.rng.random()) * 365.2425))

    def _nhs_of(self, p: _Person) -> str:
        """Everyone has an NHS number; it is made when first shown."""
        if p.nhs is None:
            p.nhs = self._nhs()
        return p.nhs

    def _nhs(self) -> str:
        rnd = self.rng.random
        while True:
            nine = "999" + f"{int(rnd() * 1_000_000):06d}"
            check = nhs_check_digit(nine)
            if check is not None:
                return nine + str(check)

    def _adult(self, heritage: str, sex: str, age: int, on: dt.date) -> _Person:
        rnd = self.rng.random
        dob = dt.date.fromordinal(on.toordinal() - int((age + rnd()) * 365.2425))
        if heritage == "british":
            table = self.british_given[sex][min(8, max(0, dob.year // 10 - 194))]
        else:
            table = self.given[heritage, sex, 1 if dob.year >= 2005 else 0]
        given = table.items[bisect_right(table.cum, rnd() * table.total)]
        pid = self.next_pid
        self.next_pid += self.id_step
        return _Person(pid, given, self._surname(heritage, sex), sex, dob, heritage)

    def _address(self, district: str | None = None, la: str | None = None) -> _Address:
        rnd = self.rng.random
        if district is None:
            table = self.districts_by_la.get(la) if la else None
            district = str((table or self.districts).pick(rnd()))
        las, town, localities = self.places[district]
        if la is None or la not in las:
            la = las[0] if len(las) == 1 else las[int(rnd() * len(las))]
        number = int(1 + 180 * rnd() ** 2.2)
        street = self.streets.pick(rnd())
        r = rnd()
        if r < 0.12:
            line1 = f"Flat {int(1 + 30 * rnd())}, {_BUILDINGS[int(rnd() * len(_BUILDINGS))]}"
            line2: str | None = f"{number} {street}"
        else:
            line1 = f"{number} {street}"
            line2 = localities[int(rnd() * len(localities))] if localities and r < 0.5 else None
        postcode = f"{district} {self.inward[int(rnd() * 4000)]}"
        return _Address(line1, line2, town, district, la, postcode)

    def _new_child(
        self, h: _Household, on: dt.date, age: int, *, born: dt.date | None = None
    ) -> _Child:
        rnd = self.rng.random
        v, s = h.victim, h.suspect
        dob = born if born is not None else self._dob(on, age)
        sex = "F" if rnd() < 0.49 else "M"
        # Who the parents are: the suspect is a parent if old enough then, often enough.
        suspect_age_then = _age(s.dob, dob) if s.dob else 30
        if h.rel == "other_family":
            suspect_rel: str | None = "sibling" if rnd() < 0.7 else None
        elif (
            suspect_age_then >= 16
            and s.sex != v.sex
            and rnd() < (0.78 if h.rel == "ex_partner" else 0.62)
        ):
            suspect_rel = "parent"
        elif h.rel == "partner" and rnd() < 0.7:
            suspect_rel = "step_parent"
        else:
            suspect_rel = None
        victim_rel = "parent" if suspect_rel != "parent" or rnd() < 0.93 else "step_parent"
        heritage = h.heritage if rnd() < 0.8 else s.heritage
        if suspect_rel == "parent":
            r = rnd()
            if r < 0.55:
                family = s.family
            elif r < 0.85:
                family = v.family
            else:
                family = f"{v.maiden or v.family}-{s.family}"
        else:
            family = v.family if rnd() < 0.85 else self._surname(heritage, "M")
        if heritage == "polish":
            family = (
                _polish_feminine(_polish_masculine(family))
                if sex == "F"
                else (_polish_masculine(family))
            )
        person = _Person(
            self._pid(), self._given(heritage, sex, dob.year), family, sex, dob, heritage
        )
        person.schools = {}
        r = rnd()
        person.school_mode = "known" if r < 0.83 else ("unknown" if r < 0.88 else "none")
        if person.school_mode == "unknown":
            while True:
                urn = str(100000 + int(rnd() * 50000))
                if urn not in self.known_urns:
                    person.unknown_urn = urn
                    break
        if rnd() < 0.08:
            person.lives_home = False
            same_la = rnd() < 0.5
            person.address = self._address(la=h.address.la if same_la else None)
        return _Child(person, victim_rel, suspect_rel)

    def _new_household(self, on: dt.date) -> _Household:
        rng = self.rng
        rnd = rng.random
        hid = self.next_hid
        self.next_hid += self.id_step
        h = _Household(hid)
        heritage = str(self.heritages.pick(rnd()))
        h.heritage = heritage
        vsex = "F" if rnd() < 0.8 else "M"
        lo, hi = self.victim_age.pick(rnd())
        vage = lo + int(rnd() * (hi - lo + 1))
        h.victim = self._adult(heritage, vsex, vage, on)
        r = rnd()
        if vage >= 38 and r < 0.07:
            h.rel = "other_family"  # an adult son or daughter
            ssex = "M" if rnd() < 0.8 else "F"
            sage = max(18, vage - 19 - int(rnd() * 12))
        else:
            h.rel = "partner" if r < 0.55 else "ex_partner"
            # Mostly a man abusing a woman; a man's abuser mostly a woman.
            r = rnd()
            ssex = ("M" if r < 0.94 else "F") if vsex == "F" else ("F" if r < 0.75 else "M")
            sage = max(18, int(vage + (3 if ssex == "M" and vsex == "F" else 0) + rng.gauss(0, 5)))
        sheritage = heritage if rnd() < 0.8 else str(self.heritages.pick(rnd()))
        h.suspect = self._adult(sheritage, ssex, sage, on)
        if h.rel == "other_family":
            h.suspect.family = h.victim.family
        elif (
            h.rel == "partner"
            and vsex == "F"
            and ssex == "M"
            and rnd() < 0.35
            and heritage == sheritage
        ):
            h.victim.maiden = h.victim.family
            h.victim.family = _as_wife(h.suspect.family, heritage)
        if rnd() < 0.45:
            serial = int(rnd() * 900000) + 1000
            yy = (h.suspect.dob.year + 18 + int(rnd() * 10)) % 100 if h.suspect.dob else 10
            h.suspect.pnc = f"{yy:02d}/{serial}{_pnc_check(yy, serial)}"
        h.address = self._address()
        if h.rel == "ex_partner" or rnd() < 0.1:
            h.suspect_address = self._address(la=h.address.la if rnd() < 0.6 else None)

        # Children: younger victims have them more often.
        p_children = 0.0
        if h.rel != "other_family":
            p_children = (
                0.64
                if vage < 25
                else 0.8
                if vage < 35
                else 0.77
                if vage < 45
                else 0.42
                if vage < 55
                else 0.04
            )
            if vsex == "M":
                p_children *= 0.75
        if rnd() < p_children:
            n = int(self.child_count.pick(rnd()))
            # A mother was 16 to 44 at the birth; a father 16 to 55.
            max_age = min(17, vage - 16)
            min_age = max(0, vage - (44 if vsex == "F" else 55))
            if vsex == "F" and vage <= 42 and rnd() < 0.1:
                self._conceive(h, on)  # the unborn child is one of the n
                n -= 1
            # The youngest first, then each older brother or sister ten months to a few years
            # before (or a twin), as long as the parent was at least 16.
            age = int(self.child_age.pick(rnd()))
            if not min_age <= age <= max_age:
                age = min_age + int(rnd() * (max_age - min_age + 1))
            dob = self._dob(on, age)
            dobs = [dob] if n > 0 and min_age <= max_age else []
            oldest = on.toordinal() - int((max_age + 1) * 365.2425) + 1
            for _ in range(n - 1 if dobs else 0):
                gap = 0 if rnd() < 0.02 else 300 + int(-800.0 * math.log(1.0 - rnd()))
                ordinal = dob.toordinal() - gap
                if ordinal < oldest:
                    break
                dob = dt.date.fromordinal(ordinal)
                dobs.append(dob)
            for dob in sorted(dobs):
                h.children.append(self._new_child(h, on, 0, born=dob))
        elif vsex == "F" and 18 <= vage <= 42 and rnd() < 0.05:
            self._conceive(h, on)
        if rnd() < 0.07:
            h.other = self._other_adult(h, on)
        return h

    def _conceive(self, h: _Household, on: dt.date) -> None:
        v = h.victim
        h.edd = on + dt.timedelta(days=7 + int(self.rng.random() * 240))
        h.unborn = _Person(self._pid(), "Unborn", v.family, "U", None, h.heritage)

    def _other_adult(self, h: _Household, on: dt.date) -> tuple[_Person, str]:
        rnd = self.rng.random
        v = h.victim
        r = rnd()
        vage = _age(v.dob, on) if v.dob else 35
        if r < 0.45 and vage < 50:  # the victim's mother
            p = self._adult(h.heritage, "F", min(90, vage + 20 + int(rnd() * 12)), on)
            p.family = v.maiden or v.family
            return p, "other_family"
        if r < 0.7:  # a sibling
            sex = "F" if rnd() < 0.5 else "M"
            p = self._adult(h.heritage, sex, max(18, vage + int(rnd() * 10) - 5), on)
            p.family = v.maiden or v.family
            return p, "other_family"
        sex = "F" if rnd() < 0.6 else "M"  # a friend or a new partner
        heritage = str(self.heritages.pick(rnd()))
        return self._adult(heritage, sex, max(18, vage + int(rnd() * 12) - 6), on), "other"

    def _return(self, h: _Household, on: dt.date, var: list[tuple[str, str]] | None) -> None:
        """What changed since the household's last notification."""
        rnd = self.rng.random
        v = h.victim
        if rnd() < 0.22:  # a new partner
            old = h.suspect
            sage = max(18, (_age(v.dob, on) if v.dob else 30) + int(self.rng.gauss(2, 6)))
            ssex = old.sex if rnd() < 0.95 else ("F" if old.sex == "M" else "M")
            heritage = h.heritage if rnd() < 0.8 else str(self.heritages.pick(rnd()))
            h.suspect = self._adult(heritage, ssex, sage, on)
            h.rel = "partner" if rnd() < 0.6 else "ex_partner"
            h.suspect_address = self._address() if h.rel == "ex_partner" else None
            for child in h.children:
                child.suspect_rel = "step_parent" if h.rel == "partner" and rnd() < 0.6 else None
        elif h.rel == "partner" and rnd() < 0.3:
            h.rel = "ex_partner"
            if h.suspect_address is None:
                h.suspect_address = self._address(la=h.address.la)
        if rnd() < 0.28:  # moved
            h.address = self._address(la=h.address.la if rnd() < 0.6 else None)
        # Children who have come of age leave the notices.
        h.children = [c for c in h.children if c.person.dob is None or _age(c.person.dob, on) < 18]
        # A new surname: marriage or hyphenation for the victim, a step-parent's for a child.
        s = h.suspect
        if (
            h.rel == "partner"
            and v.sex == "F"
            and s.sex == "M"
            and v.maiden is None
            and v.family != s.family
            and rnd() < 0.12
        ):
            v.maiden = v.family
            wife = _as_wife(s.family, h.heritage)
            v.family = wife if rnd() < 0.6 else f"{v.family}-{wife}"
            if var is not None:
                var.append(("V1", "new_surname"))
        for i, child in enumerate(h.children):
            if (
                child.suspect_rel == "step_parent"
                and child.person.family != s.family
                and rnd() < 0.15
            ):
                child.person.family = s.family
                if var is not None:
                    var.append((f"#child{i}", "new_surname"))
        # The unborn child of last time has been born.
        if h.unborn is not None and h.edd is not None and h.edd <= on:
            born = min(on, h.edd + dt.timedelta(days=int(self.rng.gauss(0, 8))))
            age = _age(born, on)
            child = self._new_child(h, on, age, born=born)
            child.person.lives_home = True
            child.person.address = None
            h.children.append(child)
            h.unborn, h.edd = None, None
        if (
            h.unborn is None
            and v.sex == "F"
            and v.dob
            and 18 <= _age(v.dob, on) <= 42
            and rnd() < 0.06
        ):
            self._conceive(h, on)

    # -- one notification -----------------------------------------------------------------------

    def _notification(
        self, day: dt.date, occ_ts: int
    ) -> tuple[dict[str, Any], dict[str, Any] | None]:
        rng = self.rng
        rnd = rng.random
        var: list[tuple[str, str]] | None = [] if self.labels else None
        queue = self.queue
        if queue and queue[0][0] <= occ_ts:
            household = heapq.heappop(queue)[2]
            repeat = True
            self._return(household, day, var)
        else:
            household = self._new_household(day)
            repeat = False
        h = household
        h.notices += 1
        # Will they come back?
        if rnd() < (_MORE_REPEATS if repeat else self.repeat_p):
            due = occ_ts + int(self._gap_days(rnd) * _DAY)
            if due < self.end_ts:  # a return after the window is never seen: keep no memory
                heapq.heappush(queue, (due, h.hid, h))

        # Risk
        instrument = str(self.instruments.pick(rnd()))
        grade = str(self.grades.pick(rnd() * 0.93 + 0.07 if repeat else rnd()))
        judgement = False
        if grade == "standard":
            k = int(self.standard_yes.pick(rnd()))
        elif grade == "medium":
            if rnd() < 0.08:
                k, judgement = int(self.judgement_yes.pick(rnd())) - 4, True
            else:
                k = int(self.medium_yes.pick(rnd()))
        elif rnd() < 0.2:
            k, judgement = int(self.judgement_yes.pick(rnd())), True
        else:
            k = int(self.high_yes.pick(rnd()))
        has_children = bool(h.children)
        # Children are kept oldest first: the last is the youngest.
        youngest = h.children[-1].person.dob if has_children else None
        baby = h.unborn is not None or (youngest is not None and (day - youngest).days < 548)
        if baby and k < 1:
            k = 1
        # The yes answers: the first k questions of a weighted random order of the questions
        # that can be yes (pregnancy only with a pregnancy or a baby, first; children's questions
        # only with children).
        key = (instrument, has_children, baby, int(rnd() * _BANK_SIZE), k)
        form = self.forms.get(key)
        if form is None:
            form = self._form(*key)
        order, n_yes, base, factors, why = form
        answers: dict[str, str] | None = None
        if instrument != "DARA":
            n_questions = len(base)
            rest = len(order) - n_yes
            n_not_known = int(self.not_known_count.pick(rnd())) if rest > 0 else 0
            if n_not_known:
                values = list(base)
                for _ in range(n_not_known):
                    values[order[n_yes + int(rnd() * rest)] - 1] = "not_known"
                answers = dict(zip(_KEYS_1_27[:n_questions], values, strict=True))
            else:
                answers = dict(zip(_KEYS_1_27[:n_questions], base, strict=True))
            if rnd() < 0.12:  # some questions not asked
                for _ in range(1 + int(rnd() * 3)):
                    unasked = _KEY[1 + int(rnd() * n_questions)]
                    if answers.get(unasked) != "yes":
                        answers.pop(unasked, None)
        risk: dict[str, Any] = {"instrument": instrument}
        if answers is not None:
            risk["answers"] = answers
        risk["officer_grade"] = grade
        rationale = self._rationale(grade, factors, judgement, instrument, why)
        if rationale:
            risk["officer_rationale"] = rationale
        if judgement:
            risk["professional_judgement"] = True
        elif instrument != "DARA" and rnd() < 0.6:
            risk["professional_judgement"] = False

        # Times: recorded after occurred, late sometimes, never after the window.
        r = rnd()
        tail = _LATE_SHARE[grade]
        if r < 0.05:
            delay = 5 + rnd() * 25
        elif r < 1.0 - tail - 0.08:
            delay = math.exp(rng.triangular(_LN30, _LN360, _LN80))
        elif r < 1.0 - tail:
            delay = math.exp(rng.triangular(_LN360, _LN1440, _LN480))
        else:
            delay = 1440 * math.exp(rng.triangular(0.0, _LN10, 0.0))
        rec_ts = occ_ts + int(delay) * _MINUTE
        if rec_ts > self.end_ts - _MINUTE:
            rec_ts = max(occ_ts, self.end_ts - _MINUTE)
        occurred = dt.datetime.fromtimestamp(occ_ts, LONDON)
        recorded = dt.datetime.fromtimestamp(rec_ts, LONDON)

        # Where: mostly the family home, sometimes the suspect's.
        at_suspect = h.suspect_address is not None and rnd() < 0.15
        incident_addr = h.suspect_address if at_suspect and h.suspect_address else h.address
        labels_people: dict[str, int] | None = {} if var is not None else None

        people: list[dict[str, Any]] = []
        victim = self._render(h.victim, "V1", "victim", day, var, labels_people)
        victim["sex"] = h.victim.sex
        if at_suspect or rnd() < 0.5:
            victim["address"] = self._addr(h.address, var)
        if rnd() < 0.55:
            victim["safe_contact"] = {
                "phone": f"07700 900{int(rnd() * 1000):03d}",
                "safe_to_call": rnd() < 0.8,
            }
        if rnd() < 0.12:
            victim["identifiers"] = {"nhs_number": self._nhs_of(h.victim)}
        people.append(victim)

        s = h.suspect
        suspect = self._render(s, "S1", "suspect", day, var, labels_people, dob_missing=0.1)
        if rnd() < 0.97:
            suspect["sex"] = s.sex
        if rnd() < 0.01:
            suspect["family_name"] = "Unknown"
        if h.suspect_address is not None and rnd() < 0.5:
            suspect["address"] = self._addr(h.suspect_address, var)
        arrested = rnd() < _ARRESTED_SHARE[grade]
        suspect["arrested"] = arrested
        if s.pnc is not None or rnd() < 0.05:
            ids = self._ids(s, 0.05, 0.7, 0.0)
            if ids:
                suspect["identifiers"] = ids
        people.append(suspect)
        relationships: list[dict[str, str]] = [{"from": "S1", "to": "V1", "type": h.rel}]

        if h.other is not None and rnd() < 0.8:
            other, rel = h.other
            adult = self._render(other, "A1", "adult_other", day, var, labels_people)
            adult["sex"] = other.sex
            people.append(adult)
            relationships.append({"from": "A1", "to": "V1", "type": rel})

        n_present = 0
        aug31 = _aug31_before(day)
        vsex = "F" if h.victim.sex == "F" else "M"
        ssex = "F" if s.sex == "F" else "M"
        for i, child in enumerate(h.children):
            ref = f"C{i + 1}"
            c = child.person
            child_body, present = self._render_child(
                c,
                ref,
                day,
                var,
                labels_people,
                vsex,
                i,
                h.address,
                incident_addr is h.address,
                aug31,
                ssex,
                child.suspect_rel == "parent",
                h.schools,
            )
            n_present += present
            people.append(child_body)
            relationships.append({"from": "V1", "to": ref, "type": child.victim_rel})
            if child.suspect_rel is not None:
                relationships.append({"from": "S1", "to": ref, "type": child.suspect_rel})
        if len(h.children) > 1 and rnd() < 0.3:
            relationships.append({"from": "C1", "to": "C2", "type": "sibling"})
        if h.unborn is not None and h.edd is not None:
            unborn = {
                "ref": "U1",
                "role": "child",
                "given_names": "Unborn",
                "family_name": h.victim.family,
                "unborn": True,
                "expected_date_of_birth": h.edd.isoformat(),
                "lives_at_incident_address": True,
            }
            people.append(unborn)
            relationships.append({"from": "V1", "to": "U1", "type": "parent"})
            if h.rel == "partner" or rnd() < 0.7:
                relationships.append({"from": "S1", "to": "U1", "type": "parent"})
            if labels_people is not None:
                labels_people["U1"] = h.unborn.pid

        # What was recorded.
        crime = rnd() < _CRIME_SHARE[grade]
        body: dict[str, Any] = {
            "schema_version": "1",
            "force_code": self.force,
            "incident_reference": "",  # numbered when the shards are merged
            "occurred_at": occurred.isoformat(),
            "recorded_at": recorded.isoformat(),
            "incident_address": self._addr(incident_addr, var, line2_key=True),
            "crime_recorded": crime,
        }
        if crime:
            body["offences"] = self._offences(grade, factors)
        body["summary"] = self._summary(
            factors,
            arrested,
            len(h.children),
            n_present,
            h.unborn is not None,
            self.stories[vsex, ssex],
        )
        body["risk"] = risk
        body["people"] = people
        body["relationships"] = relationships
        consent = self.consent.pick(rnd())
        if consent is not None:
            body["consent_to_share"] = consent
        collar, name, email = self.officers.pick(rnd())
        officer = {"collar_number": collar, "name": name}
        if rnd() < 0.6:
            officer["email"] = email
        body["officer"] = officer
        if var is None or labels_people is None:
            return body, None
        label = {
            "household": h.hid,
            "repeat": repeat,
            "people": labels_people,
            "variations": [list(v) for v in var],
        }
        return body, label

    def _rationale(
        self, grade: str, factors: frozenset[int], judgement: bool, instrument: str, why: str
    ) -> str | None:
        rnd = self.rng.random
        if not judgement and instrument != "DARA" and rnd() < 0.35:
            return None
        if grade == "standard" and (not factors or rnd() < 0.5):
            return _STANDARD_RATIONALES[int(rnd() * len(_STANDARD_RATIONALES))]
        if judgement:
            template = _JUDGEMENT_REASONS[int(rnd() * len(_JUDGEMENT_REASONS))]
            return template.format(grade=grade, why=why)
        return why[0].upper() + why[1:] + "."

    def _offences(self, grade: str, factors: frozenset[int]) -> list[str]:
        rnd = self.rng.random
        offences: list[str] = []
        if 1 in factors and rnd() < 0.6:
            offences.append(
                "Assault occasioning actual bodily harm" if rnd() < 0.6 else "Common assault"
            )
        for q, offence in _FACTOR_OFFENCE.items():
            if q in factors and rnd() < 0.3 and offence not in offences:
                offences.append(offence)
        if not offences or rnd() < 0.15:
            extra = str(self.offences[grade].pick(rnd()))
            if extra not in offences:
                offences.append(extra)
        return offences

    def _summary(
        self,
        factors: frozenset[int],
        arrested: bool,
        children: int,
        present: int,
        pregnant: bool,
        story: tuple[tuple[str, ...], dict[int, str]],
    ) -> str:
        injury_text, factor_text = story
        rnd = self.rng.random
        parts = [_OPENINGS[int(rnd() * len(_OPENINGS))]]
        if 1 in factors:
            parts.append(injury_text[int(rnd() * len(injury_text))])
        else:
            parts.append(_NO_INJURY_TEXT[int(rnd() * len(_NO_INJURY_TEXT))])
        for q in (18, 17, 16, 26, 6, 8, 15, 13, 7, 24):
            if q in factors and rnd() < 0.35:
                parts.append(factor_text[q])
                if len(parts) > 4:
                    break
        if children:
            if present == 0:
                parts.append(
                    "The child was not in the house at the time."
                    if children == 1
                    else "The children were not in the house at the time."
                )
            elif present == 1:
                parts.append("One child in the house at the time.")
            else:
                parts.append(
                    f"{_NUMBER_WORD.get(present, str(present))} children in the house at the time."
                )
        if pregnant:
            parts.append("Victim is pregnant.")
        texts = _ARRESTED_TEXT if arrested else _NOT_ARRESTED_TEXT
        parts.append(texts[int(rnd() * len(texts))])
        return " ".join(parts)

    def _ids(self, p: _Person, nhs_p: float, pnc_p: float, upn_p: float) -> dict[str, str] | None:
        rnd = self.rng.random
        ids: dict[str, str] = {}
        if p.pnc and rnd() < pnc_p:
            ids["pnc_id"] = p.pnc
        if rnd() < nhs_p:
            ids["nhs_number"] = self._nhs_of(p)
        if p.upn and rnd() < upn_p:
            ids["upn"] = p.upn
        return ids or None

    def _addr(
        self, a: _Address, var: list[tuple[str, str]] | None, line2_key: bool = False
    ) -> dict[str, Any]:
        rnd = self.rng.random
        postcode = a.postcode
        if rnd() < 0.07:
            r = rnd()
            if r < 0.4:
                postcode = postcode.replace(" ", "")
            elif r < 0.7:
                postcode = postcode.lower()
            else:
                postcode = postcode.replace(" ", "").lower()
            if var is not None:
                var.append(("address", "postcode_format"))
        out: dict[str, Any] = {"line1": a.line1}
        if a.line2 is not None or line2_key:
            out["line2"] = a.line2
        out["town"] = a.town
        out["postcode"] = postcode
        return out

    def _names(
        self, p: _Person, ref: str, var: list[tuple[str, str]] | None, r: float
    ) -> tuple[str, str]:
        """The person's names as this notice records them, for r < 0.2 (one notice in five)."""
        rnd = self.rng.random
        given, family = p.given, p.family
        if r < 0.1:
            nick = NICKNAMES.get(given)
            if nick:
                given = nick[int(rnd() * len(nick))]
                if var is not None:
                    var.append((ref, "nickname"))
        elif r < 0.16:
            alt = SPELLINGS.get(given) or SPELLINGS.get(family)
            if alt:
                choice = alt[int(rnd() * len(alt))]
                if given in SPELLINGS:
                    given = choice
                else:
                    family = choice
                if var is not None:
                    var.append((ref, "spelling"))
            elif not given.isascii() or not family.isascii():
                given, family = given.translate(_ASCII_FOLD), family.translate(_ASCII_FOLD)
                if var is not None:
                    var.append((ref, "spelling"))
        else:
            if rnd() < 0.5 and len(given) >= 4:
                given = _typo(given, rnd)
            elif len(family) >= 4:
                family = _typo(family, rnd)
            else:
                return given, family
            if var is not None:
                var.append((ref, "typo"))
        return given, family

    def _render(
        self,
        p: _Person,
        ref: str,
        role: str,
        day: dt.date,
        var: list[tuple[str, str]] | None,
        labels_people: dict[str, int] | None,
        dob_missing: float = 0.05,
    ) -> dict[str, Any]:
        rnd = self.rng.random
        r = rnd()
        if r < 0.2:
            given, family = self._names(p, ref, var, r)
        else:
            given, family = p.given, p.family
        out: dict[str, Any] = {
            "ref": ref,
            "role": role,
            "given_names": given,
            "family_name": family,
        }
        dob = p.dob
        if dob is not None:
            r = rnd()
            if r >= dob_missing + 0.04:
                out["date_of_birth"] = p.dob_s
            elif r < dob_missing:
                if var is not None:
                    var.append((ref, "dob_missing"))
                if rnd() < 0.6:
                    out["age_estimate"] = _age(dob, day)
            elif _swappable(dob, day):
                out["date_of_birth"] = dt.date(dob.year, dob.day, dob.month).isoformat()
                if var is not None:
                    var.append((ref, "dob_swap"))
            else:
                out["date_of_birth"] = p.dob_s
        if labels_people is not None:
            labels_people[ref] = p.pid
        return out

    def _render_child(
        self,
        c: _Person,
        ref: str,
        day: dt.date,
        var: list[tuple[str, str]] | None,
        labels_people: dict[str, int] | None,
        vsex: str,
        index: int,
        home: _Address,
        at_home: bool,
        aug31: dt.date,
        ssex: str,
        suspect_is_parent: bool,
        shared: dict[tuple[str, str], str],
    ) -> tuple[dict[str, Any], int]:
        rnd = self.rng.random
        if var is not None:
            # _return() names children by their index in the household; this notice by ref.
            for j, (who, kind) in enumerate(var):
                if who == f"#child{index}":
                    var[j] = (ref, kind)
        r = rnd()
        if r < 0.2:
            given, family = self._names(c, ref, var, r)
        else:
            given, family = c.given, c.family
        out: dict[str, Any] = {
            "ref": ref,
            "role": "child",
            "given_names": given,
            "family_name": family,
        }
        dob = c.dob
        assert dob is not None
        r = rnd()
        if r >= 0.07:
            out["date_of_birth"] = c.dob_s
        elif r < 0.04:
            out["age_estimate"] = _age(dob, day)
            if var is not None:
                var.append((ref, "dob_missing"))
        elif _swappable(dob, day):
            out["date_of_birth"] = dt.date(dob.year, dob.day, dob.month).isoformat()
            if var is not None:
                var.append((ref, "dob_swap"))
        else:
            out["date_of_birth"] = c.dob_s
        out["sex"] = c.sex if rnd() < 0.98 else "U"
        # A child at home when the incident was elsewhere does not live at the incident address.
        lives_there = c.lives_home and at_home
        out["lives_at_incident_address"] = lives_there
        if not lives_there:
            out["address"] = self._addr(c.address if c.address is not None else home, var)
        home_la = c.address.la if c.address is not None else home.la
        present = rnd() < (0.65 if lives_there else 0.1)
        out["present_at_incident"] = present
        if rnd() < 0.85:
            out["witnessed"] = present and rnd() < 0.55
            out["injured"] = present and rnd() < 0.025
        # School: by the academic year the child is in on the day.
        school_age = _age(dob, aug31)
        if 4 <= school_age <= 17:
            phase = "primary" if school_age <= 10 else "secondary"
            urn: str | None = None
            if c.school_mode == "known" and not (school_age >= 16 and rnd() < 0.4):
                urn = c.schools.get(phase)
                if urn is None:
                    # Brothers and sisters mostly go to the same school.
                    urn = shared.get((home_la, phase))
                    options = self.schools.get((home_la, phase))
                    if options and (urn is None or rnd() < 0.15):
                        urn = options[int(rnd() * len(options))]
                    if urn is not None:
                        c.schools[phase] = urn
                        shared.setdefault((home_la, phase), urn)
            elif c.school_mode == "unknown":
                urn = c.unknown_urn
            if urn is not None and rnd() < 0.96:
                out["school_urn"] = urn
            if c.upn is None and urn is not None:
                c.upn = self._upn(urn, dob)
        if rnd() < 0.28:
            ids = self._ids(c, 0.72, 0.0, 0.36)
            if ids:
                out["identifiers"] = ids
        if present and rnd() < 0.3 and _age(dob, day) >= 3:
            voices = self.voices[c.sex, vsex, ssex, suspect_is_parent]
            out["voice_of_child"] = voices[int(rnd() * len(voices))]
        if labels_people is not None:
            labels_people[ref] = c.pid
        return out, int(present)

    def _upn(self, urn: str, dob: dt.date) -> str:
        rnd = self.rng.random
        la = self.urn_la.get(urn, "999")
        body = f"{la[:3]:0>3}{urn[-4:]}{(dob.year + 4) % 100:02d}{int(rnd() * 1000):03d}"
        return upn_check_letter(body) + body


_KEY = {n: str(n) for n in range(1, 28)}
_KEYS_1_27 = tuple(str(n) for n in range(1, 28))
_DASH_IDENTITY = tuple(range(1, 28))
_BANK_SIZE = 128
_LN10 = math.log(10)
_LN30 = math.log(30)
_LN80 = math.log(80)
_LN360 = math.log(360)
_LN480 = math.log(480)
_LN1440 = math.log(1440)
_NUMBER_WORD = {2: "Two", 3: "Three", 4: "Four"}
_LATE_SHARE = {"standard": 0.11, "medium": 0.07, "high": 0.035}  # recorded a day or more late
_ARRESTED_SHARE = {"standard": 0.2, "medium": 0.4, "high": 0.65}
_CRIME_SHARE = {"standard": 0.45, "medium": 0.7, "high": 0.88}


def _age(dob: dt.date, on: dt.date) -> int:
    return on.year - dob.year - ((on.month, on.day) < (dob.month, dob.day))


def _swappable(dob: dt.date, day: dt.date) -> bool:
    """Day and month can be read the other way round, and that date is not after `day`."""
    return dob.day <= 12 and dob.day != dob.month and dt.date(dob.year, dob.day, dob.month) <= day


def _aug31_before(day: dt.date) -> dt.date:
    """31 August before the academic year that `day` falls in: age then gives the year group."""
    return dt.date(day.year if day.month >= 9 else day.year - 1, 8, 31)


def _polish_feminine(name: str) -> str:
    for male, female in (("ski", "ska"), ("cki", "cka"), ("dzki", "dzka")):
        if name.endswith(male):
            return name[: -len(male)] + female
    return name


def _polish_masculine(name: str) -> str:
    for male, female in (("ski", "ska"), ("cki", "cka"), ("dzki", "dzka")):
        if name.endswith(female):
            return name[: -len(female)] + male
    return name


def _as_wife(family: str, heritage: str) -> str:
    return _polish_feminine(family) if heritage == "polish" else family


def _typo(name: str, rnd: Callable[[], float]) -> str:
    """One character dropped, two neighbours swapped, or one substituted; never the first."""
    n = len(name)
    for _ in range(5):
        i = 1 + int(rnd() * (n - 1))
        r = rnd()
        if r < 0.35:
            out = name[:i] + name[i + 1 :]
        elif r < 0.65 and i < n - 1:
            out = name[:i] + name[i + 1] + name[i] + name[i + 2 :]
        else:
            ch = name[i]
            near = _NEIGHBOURS.get(ch.lower())
            if not near:
                continue
            sub = near[int(rnd() * len(near))]
            out = name[:i] + (sub.upper() if ch.isupper() else sub) + name[i + 1 :]
        if out != name and out.strip(" -'") and out[-1] not in " -'":
            return out
    return name[:-1]


# ---------------------------------------------------------------------------------------------
# Public interface
# ---------------------------------------------------------------------------------------------


# The stream is made of two independent shards (two populations of households), merged in the
# order the incidents happened. The number is fixed, so the output never depends on the machine;
# write_notifications() runs each shard in its own process when it is worth it.
SHARDS = 2


def _shards(
    count: int,
    seed: int,
    start: dt.date,
    days: int,
    force_code: str,
    reference: Reference | None,
    instrument_mix: Mapping[str, float] | None,
    labels: bool,
) -> list[_Generator]:
    ref = reference or _default_reference()
    return [
        _shard(i, count, seed, start, days, force_code, ref, instrument_mix, labels)
        for i in range(SHARDS)
    ]


def _shard(
    i: int,
    count: int,
    seed: int,
    start: dt.date,
    days: int,
    force_code: str,
    reference: Reference,
    instrument_mix: Mapping[str, float] | None,
    labels: bool,
) -> _Generator:
    if count < 0:
        raise ValueError("count must not be negative")
    if not force_code or not force_code.isascii() or not force_code.isalnum():
        raise ValueError("force_code must be letters and digits")
    share = count // SHARDS + (1 if i < count % SHARDS else 0)
    return _Generator(
        count=share,
        seed=_shard_seed(seed, i),
        start=start,
        days=days,
        force_code=force_code,
        reference=reference,
        instrument_mix=instrument_mix,
        labels=labels,
        shard=i,
        shards=SHARDS,
    )


def _shard_seed(seed: int, shard: int) -> int:
    return int.from_bytes(hashlib.sha256(f"safehub-generator/{seed}/{shard}".encode()).digest()[:8])


class _Numberer:
    """Incident references: per force, per year of the incident (local), unique over the run."""

    def __init__(self, force_code: str) -> None:
        self.force = force_code
        self.seq: dict[str, int] = {}

    def __call__(self, year: str) -> str:
        seq = self.seq.get(year, 0) + 1
        self.seq[year] = seq
        return f"{self.force}-{year[2:]}-{seq:06d}"


def _tagged(
    shard: int, gen: _Generator
) -> Iterator[tuple[int, int, int, dict[str, Any], dict[str, Any] | None]]:
    for ts, idx, body, label in gen:
        yield ts, shard, idx, body, label


def _merged(
    gens: list[_Generator], force_code: str
) -> Iterator[tuple[dict[str, Any], dict[str, Any] | None]]:
    number = _Numberer(force_code)
    streams = [_tagged(i, g) for i, g in enumerate(gens)]
    for _, _, _, body, label in heapq.merge(*streams):
        body["incident_reference"] = number(body["occurred_at"][:4])
        yield body, label


def generate_notifications(
    *,
    count: int,
    seed: int = 1,
    start: dt.date,
    days: int,
    force_code: str = "MSP",
    reference: Reference | None = None,
    instrument_mix: Mapping[str, float] | None = None,
) -> Iterator[dict[str, Any]]:
    """`count` notification bodies, in the order the incidents happened."""
    gens = _shards(count, seed, start, days, force_code, reference, instrument_mix, False)
    for body, _ in _merged(gens, force_code):
        yield body


def generate_labelled(
    *,
    count: int,
    seed: int = 1,
    start: dt.date,
    days: int,
    force_code: str = "MSP",
    reference: Reference | None = None,
    instrument_mix: Mapping[str, float] | None = None,
) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    """The same bodies as `generate_notifications` (same arguments, same bodies) with the truth:
    `{"household": id, "repeat": bool, "people": {ref: person id}, "variations": [[ref, kind]]}`.
    The ground truth for person linkage and for checking the generator."""
    gens = _shards(count, seed, start, days, force_code, reference, instrument_mix, True)
    for body, label in _merged(gens, force_code):
        assert label is not None
        yield body, label


_ENCODE = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), check_circular=False).encode
_BATCH = 2000
_PARALLEL_FROM = 40_000  # below this, starting processes costs more than it saves


class _NoParallel(Exception):
    """The shard processes failed before the first line: make the file in this process."""


def _shard_worker(conn: Any, args: tuple[Any, ...]) -> None:
    """Run one shard in a child process: send batches of (timestamp, index, year, line)."""
    try:
        gen = _shard(*args)
        batch: list[tuple[int, int, str, str]] = []
        for ts, idx, body, _ in gen:
            batch.append((ts, idx, body["occurred_at"][:4], _ENCODE(body)))
            if len(batch) == _BATCH:
                conn.send(batch)
                batch = []
        conn.send(batch)
        conn.send(None)
    except BaseException as exc:
        conn.send(("error", repr(exc)))
        raise
    finally:
        conn.close()


def _lines_parallel(
    count: int,
    seed: int,
    start: dt.date,
    days: int,
    force_code: str,
    reference: Reference,
    instrument_mix: Mapping[str, float] | None,
) -> Iterator[str]:
    """The lines of the run, each shard made and encoded in its own process, merged here."""
    # fork where there is one and no other thread that could hold a lock: the child needs
    # nothing but this module, already loaded. Otherwise spawn, which imports it afresh.
    fork = "fork" in multiprocessing.get_all_start_methods() and threading.active_count() == 1
    ctx: Any = multiprocessing.get_context("fork" if fork else "spawn")
    procs, conns = [], []
    try:
        for i in range(SHARDS):
            parent_end, child_end = ctx.Pipe(duplex=False)
            args = (
                i,
                count,
                seed,
                start,
                days,
                force_code,
                reference,
                dict(instrument_mix) if instrument_mix else None,
                False,
            )
            proc = ctx.Process(target=_shard_worker, args=(child_end, args), daemon=True)
            proc.start()
            child_end.close()
            procs.append(proc)
            conns.append(parent_end)

        def receive(i: int) -> Iterator[tuple[int, int, int, str, str]]:
            while True:
                try:
                    batch = conns[i].recv()
                except EOFError:
                    raise RuntimeError(f"notification generator shard {i} stopped") from None
                if batch is None:
                    return
                if isinstance(batch, tuple):
                    raise RuntimeError(f"notification generator shard {i} failed: {batch[1]}")
                for ts, idx, year, line in batch:
                    yield ts, i, idx, year, line

        number = _Numberer(force_code)
        # The shards encode the body with an empty reference, which sits at a fixed place.
        prefix = (
            '{"schema_version":"1","force_code":'
            + _ENCODE(force_code)
            + (',"incident_reference":"')
        )
        cut = len(prefix)
        merged = heapq.merge(*(receive(i) for i in range(SHARDS)))
        try:
            first = next(merged, None)
        except (RuntimeError, OSError) as exc:  # the processes could not start or run
            raise _NoParallel(str(exc)) from exc
        if first is not None:
            yield prefix + number(first[3]) + first[4][cut:]
        for _, _, _, year, line in merged:
            yield prefix + number(year) + line[cut:]
        for proc in procs:
            proc.join()
    finally:
        for proc in procs:
            if proc.is_alive():
                proc.terminate()
                proc.join()


def write_notifications(
    path: Path,
    *,
    count: int,
    seed: int = 1,
    start: dt.date,
    days: int,
    force_code: str = "MSP",
    progress: Callable[[int], None] | None = None,
    reference: Reference | None = None,
    instrument_mix: Mapping[str, float] | None = None,
    parallel: bool | None = None,
) -> int:
    """Write the notifications as JSON Lines (UTF-8, one compact body a line); returns how many.

    The file is the same, byte for byte, for the same arguments, whether the shards run in
    processes of their own (`parallel`; by default when the run is large and there are two CPUs
    or more) or here. `progress` is called with the number written so far, every 10,000 and at
    the end."""
    ref = reference or _default_reference()
    if parallel is None:
        parallel = count >= _PARALLEL_FROM and (os.cpu_count() or 1) >= 2
    if parallel:
        try:
            return _write(
                path,
                _lines_parallel(count, seed, start, days, force_code, ref, instrument_mix),
                progress,
            )
        except _NoParallel:
            pass
    gens = _shards(count, seed, start, days, force_code, ref, instrument_mix, False)
    return _write(path, (_ENCODE(body) for body, _ in _merged(gens, force_code)), progress)


def _write(path: Path, lines: Iterator[str], progress: Callable[[int], None] | None) -> int:
    written = 0
    batch: list[str] = []
    with Path(path).open("w", encoding="utf-8", newline="\n") as fh:
        for line in lines:
            batch.append(line)
            if len(batch) == 10_000:
                batch.append("")
                fh.write("\n".join(batch))
                written += 10_000
                batch.clear()
                if progress is not None:
                    progress(written)
        if batch:
            batch.append("")
            fh.write("\n".join(batch))
            written += len(batch) - 1
        if progress is not None:
            progress(written)
    return written

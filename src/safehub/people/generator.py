"""Synthetic person records with a known truth, for measuring linkage (`people_generate`).

Households on Merseyside: a mother, often a partner, children (now and then twins), single
adults; each person is recorded one to six times by the police, children's social care, health
and schools, and each record carries the noise the notifications have (safehub.intake.generator
is the reference): nicknames and other spellings, a middle name used or left out, typos, a
hyphenated or changed surname (a child taking a step-parent's name, a woman her married or maiden
name), day and month of birth swapped, a digit wrong in a child's date of birth, no date of
birth, dates in the three accepted forms (and now and then an unreadable one), postcodes in lower
case or without the space, street words abbreviated, a previous address, NHS numbers on health
records and unique pupil numbers on school records.

Same seed, same files, byte for byte. Only the standard library.
"""

from __future__ import annotations

import csv
import datetime as dt
import random
from dataclasses import dataclass, field
from pathlib import Path

from safehub.intake.generator import NICKNAMES, SPELLINGS, nhs_check_digit, upn_check_letter
from safehub.people.records import COLUMNS

AS_OF = dt.date(2026, 1, 1)
ACCOUNTS_DATA = Path(__file__).resolve().parent.parent / "accounts" / "data"


def _words(text: str) -> list[str]:
    return text.split()


_FEMALE = _words(
    "Olivia Amelia Isla Ava Emily Sophie Grace Lily Ella Mia Jessica Poppy Evie Ruby Freya Chloe "
    "Isabella Millie Charlotte Daisy Phoebe Scarlett Matilda Evelyn Willow Sienna Lola Ellie "
    "Layla Rosie Florence Maisie Erin Eleanor Alexandra Victoria Elizabeth Lacey Darcie Gracie "
    "Sarah Laura Gemma Emma Rebecca Claire Samantha Rachel Amy Jennifer Nicola Kelly Katie "
    "Natalie Hayley Lauren Stacey Danielle Amanda Leanne Jade Kirsty Lisa Stephanie Michelle "
    "Hannah Zoe Katherine Kerry Lindsey Melissa Carly Louise Joanne Catherine Abigail Megan "
    "Bethany Georgia Courtney Naomi Holly Natasha Kayleigh Paige Jasmine Leah Alice Amber Niamh "
    "Susan Julie Karen Jacqueline Deborah Tracey Jane Helen Diane Sharon Alison Sandra Linda "
    "Christine Lorraine Denise Angela Janet Dawn Wendy Gillian Paula Kim Beverley Margaret Andrea "
    "Siobhan Aoife Ciara Katarzyna Magdalena Agnieszka Fatima Ayesha Aisha Zainab Maryam Amina "
    "Blessing Precious Chioma Shanice Aaliyah Imani Amara Hodan Ayan Mei Ying"
)
_MALE = _words(
    "Oliver Harry Jack Charlie George Jacob Noah Alfie Freddie Thomas Oscar Leo William James "
    "Joshua Archie Henry Ethan Isaac Max Lucas Mason Teddy Logan Theo Riley Alexander Joseph "
    "Harrison Tommy Finley Daniel Samuel Arthur Reggie Frankie Louie Christopher Michael David "
    "Andrew Matthew Richard Mark Paul Adam Robert Steven Jonathan Craig Lee Stephen Ryan Benjamin "
    "Carl Gareth Darren Liam Scott Anthony Dean Jamie Jason Shaun Kevin Gary Kyle Ashley Nicholas "
    "Sean Luke Jordan Lewis Callum Connor Kieran Nathan Bradley Aaron Dylan Jake Cameron Mohammed "
    "Tyler Owen Ian Simon Martin Philip Alan Neil Peter John Keith Brian Declan Ciaran Conor "
    "Piotr Krzysztof Tomasz Michal Muhammad Ahmed Ali Imran Kwame Kofi Emeka Tyrone Marcus "
    "Jermaine Malachi Elijah Abdi Hassan Wei Ming"
)
_SURNAMES = _words(
    "Smith Jones Williams Roberts Hughes Davies Murphy Taylor Brown Evans Kelly Wilson Johnson "
    "Thomas Thompson Edwards Wright Walsh Lewis Doyle Ryan McDonald Harrison Clarke Green Hall "
    "Wood Jackson Morris Robinson White Martin Hill Moore Cooper Ward Turner Parry Owen Griffiths "
    "Kennedy Byrne Lynch O'Brien Quinn Gallagher McCarthy Fitzpatrick Keegan Molloy Sullivan "
    "Connolly Brennan Kavanagh Flanagan Duffy Rooney Carragher Fowler Gerrard Fairclough Dunne "
    "McCann Caldwell Birch Halliday Rimmer Lunt Tyrer Ashcroft Heaton Pennington Houghton "
    "Greenall Blundell Aspinall Ashton Crompton Molyneux Swift Cropper Lloyd Phillips Price "
    "Bennett Baker Parker Collins Stewart Campbell Anderson Scott Reid Kerr Mitchell Watson "
    "Jenkins Harris Morgan Cook Bell Shaw Marsh Lee Allen Young King Walker Kay Carr Holmes Mills "
    "Dixon Gibson Pearson Webb Rogers Hunt Foster Simpson Powell Palmer Kenny Burke Nolan "
    "Donnelly Farrell Gorman Hanlon Maguire McGovern McKenna Mullen O'Neill O'Hara Reilly Rice "
    "Mooney Sheridan Cunningham Dolan Finnegan Hagan Jordan Lowe Rowe Hurst Atherton Topping Cain "
    "Boyle Coyle Donovan Fletcher Gill Graham Gray Hayes Higgins Hodgson Howard Kirby Knowles "
    "Leach Lees Lyons McGrath Melia Moran Nicholson Oakes Osborne Platt Quayle Riley Sharples "
    "Skelly Starkey Sumner Tarleton Unsworth Vickers Wainwright Whalley Yates Formby Halewood "
    "Prescott Culshaw Seddon Tasker Gorton Nowak Kowalski Wisniewski Wojcik Mazur Khan Ahmed "
    "Hussain Ali Akhtar Shah Rahman Iqbal Mahmood Malik Patel Begum Okafor Adeyemi Mensah Osei "
    "Boateng Owusu Mohamed Abdi Hassan Farah Wong Chan Li Cheung Lau"
)
# The long tail of surnames (most people in England have a surname outside the top few hundred):
# made from English place-name syllables, so that they look like names and rarely collide.
_HEADS = _words(
    "Ash Bar Brad Brom Cal Chad Cran Dal Den Ers Fair Farn Gar Grims Hal Hart Hol Kel Kings Lang "
    "Ley Lin Mar Mel Mor Nor Ol Pen Rad Ram Roth Sal Sand Shel Stan Sut Thorn Tod Wal War Wes "
    "Whit Wig Win Wor"
)
_TAILS = _words(
    "by croft dale den field ford ham hill hurst ington ley low more shaw stead ton wick wood worth"
)
_STREETS = _words(
    "Park Church Station Victoria Albert Queens Kings Mill Chapel Grove Green Springfield "
    "Oakfield Elm Beech Cedar Derby Windsor Stanley Walton Breck Smithdown Allerton Rose Lark "
    "Dale Brook Heath Meadow Orchard Priory Abbey Hawthorne Holly Laurel Manor Marsh Moss Poplar "
    "Rake Ridge Sandy Sefton Vale Willow York Belmont Clifton Dover Exeter Grange"
)
_STREET_KINDS = (
    ("Road", "Rd"),
    ("Street", "St"),
    ("Avenue", "Ave"),
    ("Close", "Cl"),
    ("Drive", "Dr"),
    ("Lane", "Ln"),
    ("Crescent", "Cres"),
    ("Grove", "Grv"),
    ("Way", "Way"),
)
_TOWNS = {
    "L": "Liverpool",
    "CH": "Birkenhead",
    "PR": "Southport",
    "WA": "St Helens",
    "WN": "Wigan",
}
_SOURCES = ("police", "social_care", "health", "school")
_LETTERS = "ABDEFGHJLNPQRSTUWXY"
_KEYS = ("qwertyuiop", "asdfghjkl", "zxcvbnm")


@dataclass
class _Address:
    line1: str
    abbreviated: str
    town: str
    postcode: str


@dataclass
class _Person:
    pid: int
    sex: str
    given: str
    middle: str
    family: str
    dob: dt.date
    address: _Address
    nhs: str
    upn: str
    other_family: str = ""  # maiden name, step-parent's name: what some records say instead
    previous: _Address | None = None
    records: int = 1
    child: bool = False
    hyphenated_with: list[str] = field(default_factory=list)


class _Maker:
    def __init__(self, seed: int) -> None:
        self.rnd = random.Random(seed)
        with (ACCOUNTS_DATA / "postcode_districts.csv").open(encoding="utf-8") as fh:
            self.districts = [row["district"] for row in csv.DictReader(fh)]
        self.pid = 0
        self.nhs_serial = 0
        self.upn_serial = 0
        self.postcodes: list[str] = []
        self.streets: dict[str, list[tuple[str, str]]] = {}
        self.female = self._zipf(_FEMALE)
        self.male = self._zipf(_MALE)
        common = self._zipf(_SURNAMES)
        self.surname_common = common

    def _zipf(self, names: list[str]) -> tuple[list[str], list[float]]:
        return names, [1 / (i + 2.5) for i in range(len(names))]

    def pick(self, table: tuple[list[str], list[float]]) -> str:
        return self.rnd.choices(table[0], table[1])[0]

    def surname(self) -> str:
        if self.rnd.random() < 0.55:
            return self.pick(self.surname_common)
        return self.rnd.choice(_HEADS) + self.rnd.choice(_TAILS)

    def given(self, sex: str) -> str:
        return self.pick(self.female if sex == "F" else self.male)

    def postcode(self) -> str:
        # About eight households share a postcode, as on a real street.
        if self.postcodes and self.rnd.random() < 0.88:
            return self.rnd.choice(self.postcodes)
        district = self.rnd.choice(self.districts)
        code = f"{district} {self.rnd.randint(1, 9)}{self.rnd.choice(_LETTERS)}"
        code += self.rnd.choice(_LETTERS)
        self.postcodes.append(code)
        return code

    def address(self) -> _Address:
        postcode = self.postcode()
        streets = self.streets.setdefault(postcode, [])
        if not streets or (len(streets) < 2 and self.rnd.random() < 0.2):
            name = self.rnd.choice(_STREETS)
            kind, short = self.rnd.choice(_STREET_KINDS)
            streets.append((f"{name} {kind}", f"{name} {short}"))
        full, short = self.rnd.choice(streets)
        number = self.rnd.randint(1, 180)
        area = "".join(c for c in postcode.split()[0] if c.isalpha())
        return _Address(
            f"{number} {full}", f"{number} {short}", _TOWNS.get(area, "Liverpool"), postcode
        )

    def nhs(self) -> str:
        while True:
            self.nhs_serial += 1
            nine = f"999{self.nhs_serial:06d}"
            check = nhs_check_digit(nine)
            if check is not None:
                return f"{nine}{check}"

    def upn(self) -> str:
        self.upn_serial += 1
        twelve = f"{340:03d}{26:02d}{self.upn_serial:07d}"
        return upn_check_letter(twelve) + twelve

    def dob(self, age: int) -> dt.date:
        born = AS_OF - dt.timedelta(days=age * 365 + self.rnd.randint(0, 364))
        return born

    def person(
        self, sex: str, age: int, family: str, address: _Address, taken: set[str] | None = None
    ) -> _Person:
        """`taken`: the first names already in the household, which parents rarely repeat (a
        father and son of the same name are left to chance: one household in fifty)."""
        self.pid += 1
        middle = self.given(sex) if self.rnd.random() < 0.5 else ""
        given = self.given(sex)
        while taken and given in taken and self.rnd.random() < 0.98:
            given = self.given(sex)
        if taken is not None:
            taken.add(given)
        p = _Person(
            pid=self.pid,
            sex=sex,
            given=given,
            middle=middle,
            family=family,
            dob=self.dob(age),
            address=address,
            nhs=self.nhs(),
            upn="",
            child=age < 18,
        )
        if p.child and 4 <= age <= 16:
            p.upn = self.upn()
        if p.middle == p.given:
            p.middle = ""
        if self.rnd.random() < 0.12:
            p.previous = self.address()
        p.records = self.rnd.choices((1, 2, 3, 4, 5, 6), (25, 30, 20, 12, 8, 5))[0]
        return p

    def household(self) -> list[_Person]:
        rnd = self.rnd
        home = self.address()
        if rnd.random() < 0.25:  # a single adult
            sex = rnd.choice("MF")
            return [self.person(sex, rnd.randint(18, 85), self.surname(), home)]
        mother_age = rnd.randint(19, 52)
        mother_family = self.surname()
        taken: set[str] = set()
        mother = self.person("F", mother_age, mother_family, home, taken)
        people = [mother]
        father_family = mother_family
        if rnd.random() < 0.65:
            partner_family = self.surname()
            married = rnd.random() < 0.45
            partner_age = mother_age + rnd.randint(-3, 8)
            partner = self.person("M", partner_age, partner_family, home, taken)
            people.append(partner)
            if married:
                mother.other_family, mother.family = mother.family, partner_family
            father_family = partner_family
        children = rnd.choices((0, 1, 2, 3, 4), (10, 30, 32, 18, 10))[0]
        births: list[tuple[int, bool]] = []  # (age, a twin of the child before)
        for _ in range(children):
            if births and rnd.random() < 0.03:
                births.append((births[-1][0], True))
            else:
                births.append((rnd.randint(0, max(0, min(17, mother_age - 17))), False))
        for age, twin in births:
            r = rnd.random()
            family = father_family if r < 0.5 else mother_family
            child = self.person(rnd.choice("MF"), age, family, home, taken)
            if twin:
                child.dob = people[-1].dob
            if r > 0.88 and father_family != mother_family:
                child.hyphenated_with = [mother_family, father_family]
                child.family = f"{mother_family}-{father_family}"
            if rnd.random() < 0.15:  # known by a step-parent's name in some records
                child.other_family = self.surname()
            people.append(child)
        return people

    # -- noise -----------------------------------------------------------------------------

    def typo(self, text: str) -> str:
        rnd = self.rnd
        if len(text) < 3:
            return text
        i = rnd.randrange(1, len(text))
        kind = rnd.random()
        if kind < 0.3:
            return text[:i] + text[i + 1 :]  # dropped letter
        if kind < 0.55 and i < len(text) - 1:
            return text[:i] + text[i + 1] + text[i] + text[i + 2 :]  # transposed
        if kind < 0.75:
            return text[:i] + text[i] + text[i:]  # doubled
        ch = text[i].lower()
        for row in _KEYS:
            j = row.find(ch)
            if j >= 0:
                near = row[max(0, j - 1)] if rnd.random() < 0.5 or j == len(row) - 1 else row[j + 1]
                return text[:i] + near + text[i + 1 :]
        return text

    def given_as_recorded(self, p: _Person) -> str:
        rnd = self.rnd
        name = p.given
        r = rnd.random()
        if r < 0.10 and name in NICKNAMES:
            name = rnd.choice(NICKNAMES[name])
        elif r < 0.13 and name in SPELLINGS:
            name = rnd.choice(SPELLINGS[name])
        elif r < 0.17:
            name = self.typo(name)
        elif r < 0.19 and p.middle:
            return p.middle  # known by the middle name
        if p.middle and rnd.random() < 0.35:
            name = f"{name} {p.middle}"
        return name

    def family_as_recorded(self, p: _Person) -> str:
        rnd = self.rnd
        name = p.family
        r = rnd.random()
        if p.other_family and r < 0.3:
            name = p.other_family
        elif p.hyphenated_with and r < 0.55:
            name = rnd.choice(p.hyphenated_with)
        elif r < 0.05 and name in SPELLINGS:
            name = rnd.choice(SPELLINGS[name])
        elif r < 0.09:
            name = self.typo(name)
        if rnd.random() < 0.05:
            name = name.upper()
        return name

    def dob_as_recorded(self, p: _Person) -> str:
        rnd = self.rnd
        dob = p.dob
        r = rnd.random()
        if r < 0.05:
            return ""
        text = dob.strftime("%Y%m%d")
        if r < 0.08 and dob.day <= 12 and dob.day != dob.month:
            text = f"{dob.year}{dob.day:02d}{dob.month:02d}"
        elif r < (0.13 if p.child else 0.095):
            i = rnd.choice((3, 5, 7))  # a digit of the year, month or day
            text = (
                text[:i]
                + str(rnd.choice([d for d in range(10) if str(d) != text[i]]))
                + text[i + 1 :]
            )
        y, m, d = text[:4], text[4:6], text[6:]
        form = rnd.random()
        if form < 0.003:
            return rnd.choice(("unknown", "01/13/2010", "2019-02-30", "12.03.1985"))
        if form < 0.7:
            return f"{y}-{m}-{d}"
        if form < 0.88:
            return f"{d}/{m}/{y}"
        return text

    def postcode_as_recorded(self, code: str) -> str:
        rnd = self.rnd
        r = rnd.random()
        if r < 0.05:
            return ""
        if r < 0.07:
            i = rnd.randrange(len(code) - 2, len(code))
            code = code[:i] + rnd.choice(_LETTERS) + code[i + 1 :]
        if rnd.random() < 0.4:
            code = code.replace(" ", "")
        if rnd.random() < 0.2:
            code = code.lower()
        return code

    def record(self, p: _Person, rid: str) -> dict[str, str]:
        rnd = self.rnd
        # Only a child of school age has a school record.
        source = rnd.choice(_SOURCES if p.child and p.upn else _SOURCES[:3])
        address = p.address
        if p.previous and rnd.random() < 0.4:
            address = p.previous
        line = address.abbreviated if rnd.random() < 0.3 else address.line1
        if rnd.random() < 0.03:
            line = self.typo(line)
        if rnd.random() < 0.05:
            line = ""
        sex = p.sex if rnd.random() < 0.9 else ""
        if sex and rnd.random() < 0.003:
            sex = "M" if sex == "F" else "F"
        return {
            "record_id": rid,
            "source": source,
            "given_names": self.given_as_recorded(p),
            "family_name": self.family_as_recorded(p),
            "date_of_birth": self.dob_as_recorded(p),
            "sex": sex,
            "address_line1": line,
            "town": address.town if rnd.random() < 0.8 else "",
            "postcode": self.postcode_as_recorded(address.postcode),
            "nhs_number": p.nhs if source == "health" and rnd.random() < 0.85 else "",
            "upn": p.upn if source == "school" and rnd.random() < 0.95 else "",
        }


def people_generate(n: int, seed: int, records_path: Path | str, truth_path: Path | str) -> int:
    """Write `n` person records and their truth (record_id,person_id); returns `n`."""
    maker = _Maker(seed)
    people: list[_Person] = []
    total = 0
    while total < n:
        for p in maker.household():
            people.append(p)
            total += p.records
    slots = [p for p in people for _ in range(p.records)][:n]
    maker.rnd.shuffle(slots)
    with (
        Path(records_path).open("w", encoding="utf-8", newline="") as rec_fh,
        Path(truth_path).open("w", encoding="utf-8", newline="") as truth_fh,
    ):
        records = csv.DictWriter(rec_fh, fieldnames=list(COLUMNS))
        truth = csv.writer(truth_fh)
        records.writeheader()
        truth.writerow(["record_id", "person_id"])
        for i, p in enumerate(slots, start=1):
            rid = f"R{i:07d}"
            records.writerow(maker.record(p, rid))
            truth.writerow([rid, f"P{p.pid:07d}"])
    return len(slots)

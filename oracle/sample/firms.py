"""Normal firms of the synthetic district: every value is drawn from a seeded ``random.Random``
and every identifier (USCC, ID number, phone, account, IP, address, name) is unique, so that the
only shared or odd values are those :mod:`oracle.sample.anomalies` injects.

A normal firm is active, registered in the district, at least two years old, has at least 3
insured staff every month, pays at least 20,000 yuan of tax a year, declares exactly its official
figures and is paid into its own enterprise account unchanged for at least a year.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, timedelta

from oracle import uscc as uscc_codes
from oracle.sample import words

MIN_STAFF = 3
MIN_TAX_FEN = 2_000_000  # 20,000 yuan
MIN_AGE_DAYS = 730
ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


@dataclass
class Person:
    name: str
    id_number: str


@dataclass
class TaxYear:
    tax_paid: int  # fen
    rating: str
    revenue: int  # fen


@dataclass
class Firm:
    uscc: str
    name: str
    brand: str
    industry: str
    legal_rep: Person
    capital: int  # fen
    address: str
    scope: str
    status: str
    district: str
    established: date
    shareholders: list[Person]
    officers: list[tuple[Person, str]]
    phone: str
    controller: Person
    headcount: dict[str, int]  # month → insured staff
    tax: dict[int, TaxYear]
    account_no: str
    account_holder: str
    holder_type: str  # enterprise / individual
    account_since: date
    ip: str
    declared: dict[str, object] = field(default_factory=dict)  # overrides of what an application declares


def months_before(as_of: date, count: int) -> list[str]:
    """The ``count`` whole months before the month of ``as_of``, oldest first (YYYY-MM)."""
    year, month = as_of.year, as_of.month
    out = []
    for _ in range(count):
        month -= 1
        if month == 0:
            year, month = year - 1, 12
        out.append(f"{year:04d}-{month:02d}")
    return out[::-1]


def id_check(first17: str) -> str:
    """GB 11643 check character of a resident ID number."""
    return "10X98765432"[sum(int(c) * w for c, w in zip(first17, ID_WEIGHTS)) % 11]


class FirmFactory:
    """Draws unique people, codes and firms for one district."""

    def __init__(self, rng: random.Random, as_of: date, district: str, district_name: str):
        self.rng, self.as_of, self.district, self.district_name = rng, as_of, district, district_name
        self.months = months_before(as_of, 12)
        self.years = (as_of.year - 2, as_of.year - 1)
        self.used: set[str] = set()

    def _unique(self, make) -> str:
        for _ in range(1000):
            value = make()
            if value not in self.used:
                self.used.add(value)
                return value
        raise RuntimeError("ran out of unique values; use fewer enterprises")

    def person_name(self) -> str:
        given = "".join(self.rng.choice(words.GIVEN) for _ in range(self.rng.choice((1, 2, 2))))
        return self.rng.choice(words.SURNAMES) + given

    def person(self) -> Person:
        def make() -> str:
            born = date(1960, 1, 1) + timedelta(days=self.rng.randrange(365 * 38))
            first17 = f"{self.rng.choice(words.ID_REGIONS)}{born:%Y%m%d}{self.rng.randrange(1000):03d}"
            return first17 + id_check(first17)
        return Person(self.person_name(), self._unique(make))

    def uscc(self, district: str | None = None) -> str:
        def make() -> str:
            if self.rng.random() < 0.7:
                body = "MA" + "".join(self.rng.choice(uscc_codes.ALPHABET) for _ in range(6))
            else:
                body = "".join(self.rng.choice("0123456789") for _ in range(8))
            return uscc_codes.complete("91" + (district or self.district) + body + uscc_codes.org_check_character(body))
        return self._unique(make)

    def company_name(self, city: str = "福州", industry: str | None = None) -> tuple[str, str, str]:
        """(name, brand, industry)."""
        industry = industry or self.rng.choice(list(words.INDUSTRIES))
        holder: list[str] = []

        def make() -> str:
            brand = "".join(self.rng.choice(words.BRAND) for _ in range(self.rng.choice((2, 2, 2, 3))))
            holder[:] = [brand]
            return f"{city}{brand}{industry}{self.rng.choice(words.FORMS)}"
        name = self._unique(make)
        return name, holder[0], industry

    def address(self, district_name: str | None = None) -> str:
        def make() -> str:
            road, number = self.rng.choice(words.ROADS), self.rng.randint(1, 399)
            if self.rng.random() < 0.6:
                brand = self.rng.choice(words.BRAND) + self.rng.choice(words.BRAND)
                building = brand + self.rng.choice(words.BUILDINGS)
                return (f"{district_name or self.district_name}{road}{number}号{building}"
                        f"{self.rng.randint(1, 28)}层{self.rng.randint(1, 30):02d}室")
            return f"{district_name or self.district_name}{road}{number}号{self.rng.randint(101, 2999)}室"
        return self._unique(make)

    def scope(self, industry: str) -> str:
        items = self.rng.sample(words.INDUSTRIES[industry], self.rng.randint(2, 5))
        return "一般项目：" + "；".join(items) + "。" + words.SCOPE_TAIL

    def phone(self) -> str:
        def make() -> str:
            if self.rng.random() < 0.25:
                return f"0591-8{self.rng.randrange(10**7):07d}"
            return f"1{self.rng.choice('35789')}{self.rng.randrange(10**9):09d}"
        return self._unique(make)

    def account_no(self) -> str:
        return self._unique(lambda: self.rng.choice(words.BANK_PREFIXES) + f"{self.rng.randrange(10**15):015d}")

    def ip(self) -> str:
        return self._unique(lambda: f"{self.rng.choice((58, 117, 120, 218))}.{self.rng.randrange(256)}."
                                    f"{self.rng.randrange(256)}.{self.rng.randrange(1, 255)}")

    def firm(self) -> Firm:
        """One normal firm."""
        rng = self.rng
        name, brand, industry = self.company_name()
        established = self.as_of - timedelta(days=rng.randint(MIN_AGE_DAYS, 20 * 365))
        legal_rep = self.person()
        shareholders = [legal_rep] + [self.person() for _ in range(rng.choice((0, 0, 1, 2)))]
        if rng.random() < 0.15:  # a corporate shareholder from outside the district
            parent, _, _ = self.company_name(city="厦门")
            shareholders.append(Person(parent, self.uscc("350203")))
        officers = [(legal_rep, "执行董事"), (self.person(), "监事")]
        if rng.random() < 0.5:
            officers.append((self.person(), "经理"))
        staff = max(MIN_STAFF, min(800, int(rng.lognormvariate(2.8, 0.9))))
        headcount = {m: max(MIN_STAFF, round(staff * rng.uniform(0.92, 1.08))) for m in self.months}
        revenue = int(staff * rng.uniform(200_000, 1_200_000)) * 100 + rng.randrange(100)
        tax: dict[int, TaxYear] = {}
        for year in reversed(self.years):
            paid = max(MIN_TAX_FEN, int(revenue * rng.uniform(0.015, 0.06)))
            rating = rng.choices(("A", "B", "M", "C"), weights=(35, 50, 10, 5))[0]
            tax[year] = TaxYear(paid, rating, revenue)
            revenue = int(revenue / rng.uniform(1.0, 1.3))
        return Firm(
            uscc=self.uscc(), name=name, brand=brand, industry=industry, legal_rep=legal_rep,
            capital=rng.choice((10, 50, 100, 200, 300, 500, 1000, 2000, 5000)) * 1_000_000,
            address=self.address(), scope=self.scope(industry), status="active", district=self.district,
            established=established, shareholders=shareholders, officers=officers, phone=self.phone(),
            controller=legal_rep, headcount=headcount, tax=dict(sorted(tax.items())), account_no=self.account_no(),
            account_holder=name, holder_type="enterprise",
            account_since=self.as_of - timedelta(days=rng.randint(365, (self.as_of - established).days)),
            ip=self.ip())

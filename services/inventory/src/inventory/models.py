"""Tables of the inventory database."""

from sqlalchemy.orm import DeclarativeBase

from jeshkit.db import new_metadata


class Base(DeclarativeBase):
    metadata = new_metadata()

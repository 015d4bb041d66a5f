"""A LearnWorlds-style platform's webhooks as the school's events.

Every payload is ``{"type": ..., "data": {"user": {"id": ...}, ...}}``:

================== =========================================================
webhook type       flowkit events
================== =========================================================
userRegistered     ``user.signed_up`` (email, username, source, registered_at: the
                   user's ``created`` Unix time as an ISO date-time)
userUpdated        ``user.updated`` (email, username)
enrolledFreeCourse ``user.enrolled`` (course, source="free")
productsBought     ``product.bought`` per product (product, kind, price,
                   currency), and ``user.enrolled`` (source="purchase") per course
courseCompleted    ``course.completed`` (course, grade)
awardedCertificate ``certificate.awarded`` (certificate, course, expires_at)
tagsAdded          ``tag.added`` per tag (tag)
tagsRemoved        ``tag.removed`` per tag (tag)
paymentCreated     ``payment.created`` (payment, amount, currency, product)
userUnenrolled     ``user.unenrolled`` (product, kind; course for a course)
================== =========================================================
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flowkit.serve.adapters import Adapter, Event, event


def _user(p: Any) -> str:
    return str(p["data"]["user"]["id"])


def _moment(seconds: Any) -> str | None:
    """A Unix time as the ISO date-time the school's date fields take."""
    if seconds in (None, ""):
        return None
    return dt.datetime.fromtimestamp(float(seconds), dt.UTC).isoformat()


def _registered(p: Any) -> Event:
    user = p["data"]["user"]
    return event("user.signed_up", user["id"], email=user.get("email"),
                 username=user.get("username"), source="learnworlds",
                 registered_at=_moment(user.get("created")))


def _updated(p: Any) -> Event:
    user = p["data"]["user"]
    return event("user.updated", user["id"], email=user.get("email"),
                 username=user.get("username"))


def _free_enrollment(p: Any) -> Event:
    return event("user.enrolled", _user(p), course=p["data"]["course"]["id"], source="free")


def _bought(p: Any) -> list[Event]:
    out = []
    for product in p["data"]["products"]:
        out.append(event("product.bought", _user(p), product=product["id"],
                         kind=product["type"], price=product.get("price"),
                         currency=product.get("currency")))
        if product["type"] == "course":
            out.append(event("user.enrolled", _user(p), course=product["id"],
                             source="purchase"))
    return out


def _completed(p: Any) -> Event:
    return event("course.completed", _user(p), course=p["data"]["course"]["id"],
                 grade=p["data"].get("grade"))


def _certificate(p: Any) -> Event:
    certificate = p["data"]["certificate"]
    return event("certificate.awarded", _user(p), certificate=certificate["id"],
                 course=certificate.get("course_id"),
                 expires_at=certificate.get("expires_at"))


def _tags(name: str) -> Any:
    def tags(p: Any) -> list[Event]:
        return [event(name, _user(p), tag=tag) for tag in p["data"]["tags"]]
    return tags


def _payment(p: Any) -> Event:
    payment = p["data"]["payment"]
    return event("payment.created", _user(p), payment=payment["id"],
                 amount=payment["amount"], currency=payment.get("currency"),
                 product=payment.get("product_id"))


def _unenrolled(p: Any) -> Event:
    product = p["data"]["product"]
    fields: dict[str, Any] = {"product": product["id"], "kind": product.get("type")}
    if product.get("type") == "course":
        fields["course"] = product["id"]
    return event("user.unenrolled", _user(p), **fields)


learnworlds = Adapter("learnworlds", {
    "userRegistered": _registered,
    "userUpdated": _updated,
    "enrolledFreeCourse": _free_enrollment,
    "productsBought": _bought,
    "courseCompleted": _completed,
    "awardedCertificate": _certificate,
    "tagsAdded": _tags("tag.added"),
    "tagsRemoved": _tags("tag.removed"),
    "paymentCreated": _payment,
    "userUnenrolled": _unenrolled,
}, user_of=_user)

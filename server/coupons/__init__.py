"""Coupons and red packets: drops a host starts in a show, claims and grabs by viewers,
and spending them at payment (docs/coupons.md)."""

"""Every write of the inventory app: items and packs (items.py), stock movements and their postings (stock.py)."""

"""Domain logic with no Flask request in it; views and jobs call these."""

"""Errors whose message says all a user needs (bad input, missing data or weights): printed without traceback."""


class UserError(Exception):
    pass

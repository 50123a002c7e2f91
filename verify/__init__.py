"""`pipenv run verify`: black-box checks of a deployed (or local) EpochRegister API.

Talks HTTP to the API URL and to each region's own endpoint (standard library
only), and to AWS (boto3) only for the optional Route 53 health-check status.
"""

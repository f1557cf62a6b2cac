"""The district coordinator's administration area: accounts, schools and protocols.

Every page here names its capability (``ACCOUNTS_MANAGE`` for accounts and schools,
``PROTOCOL_MANAGE`` for protocols, both the district coordinator's); anyone else gets
"Not allowed" (403): the area is one for the whole district, like the review queue. Every
change is one call to a service that records it in the audit trail.
"""

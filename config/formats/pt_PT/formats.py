# Portugal: "1 234,50" (Django's `pt`, shared with Brazil, has "1.234,50"); everything else as Django's `pt`.
DECIMAL_SEPARATOR = ","
THOUSAND_SEPARATOR = "\xa0"
NUMBER_GROUPING = 3

# France: "1 234,50", with the same no-break space as pt-PT (Django's own `fr` has it today; pinned here so that
# both languages keep one separator, which clinics.money reads back).
DECIMAL_SEPARATOR = ","
THOUSAND_SEPARATOR = "\xa0"
NUMBER_GROUPING = 3

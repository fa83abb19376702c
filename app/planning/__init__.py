"""Widgets and wiring of the Planning tab (the algorithms live in ``tmsnav.navigation.targeting``)."""

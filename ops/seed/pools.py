"""Reference pools for synthetic depositors: names, regions, industries, banks.

Weights are rough shares, not statistics; they only need to look believable
in the admin and keep the month-grid cases (late, sealed, closed) in sight.
"""

# Jiaodong surnames: the national top names plus the local ones (于, 姜, 曲,
# 衣, 初, 战, 隋, 鞠, 栾, 慕) that make a Yantai list look like Yantai.
SURNAMES: list[tuple[str, float]] = [
    ("王", 10),
    ("张", 8),
    ("李", 8),
    ("刘", 7),
    ("孙", 5),
    ("于", 4.5),
    ("姜", 3.5),
    ("杨", 3),
    ("赵", 3),
    ("徐", 2.5),
    ("陈", 2.5),
    ("曲", 2),
    ("高", 2),
    ("郭", 1.5),
    ("马", 1.5),
    ("林", 1.5),
    ("宋", 1.5),
    ("周", 1.5),
    ("韩", 1.2),
    ("吕", 1.1),
    ("吴", 1),
    ("邹", 1),
    ("丁", 1),
    ("董", 0.9),
    ("梁", 0.8),
    ("许", 0.8),
    ("冯", 0.7),
    ("初", 0.7),
    ("战", 0.6),
    ("隋", 0.6),
    ("鞠", 0.6),
    ("唐", 0.6),
    ("程", 0.6),
    ("曹", 0.6),
    ("衣", 0.5),
    ("栾", 0.5),
    ("柳", 0.5),
    ("谭", 0.5),
    ("袁", 0.5),
    ("慕", 0.4),
    ("滕", 0.4),
    ("傅", 0.4),
    ("沈", 0.4),
    ("彭", 0.4),
    ("邓", 0.4),
    ("宫", 0.4),
    ("修", 0.3),
    ("矫", 0.3),
    ("辛", 0.3),
    ("臧", 0.3),
    ("解", 0.3),
    ("尹", 0.3),
    ("毕", 0.3),
    ("牟", 0.3),
]

# Given-name characters by sex and era: older people carry the 1970s-80s
# style, younger ones the 1990s-2000s style.
GIVEN = {
    ("M", "old"): (
        "建国志海明永文立振宏德家春新庆学兆洪长玉世传军红卫",
        "伟强军磊勇杰涛斌超波辉刚鹏林峰龙华平东飞亮成明军生利胜",
    ),
    ("M", "new"): (
        "子浩宇天嘉博一泽思俊晓文佳明梓雨鹏家皓逸致奕",
        "轩宇然豪阳航晨博凯鑫涵睿杰铭哲宁洋昊琦川远",
    ),
    ("F", "old"): (
        "秀丽晓雪美春玉海淑红小桂凤金丽翠素彩",
        "芳娟敏静丽艳娜玲霞燕红萍英兰梅琴莉华",
    ),
    ("F", "new"): (
        "婷思雨欣佳梦子诗慧静文晓可雅梓若语一心",
        "婷颖琳雪洁倩悦涵怡彤璐萱琪妍菲瑶蕾然宁",
    ),
}

# Yantai county-level codes (GB/T 2260) with a rough share of the population.
REGIONS: list[tuple[str, str, float]] = [
    ("370602", "芝罘区", 20),
    ("370611", "福山区", 9),
    ("370612", "牟平区", 7),
    ("370613", "莱山区", 10),
    ("370614", "蓬莱区", 7),
    ("370681", "龙口市", 9),
    ("370682", "莱阳市", 8),
    ("370683", "莱州市", 9),
    ("370685", "招远市", 7),
    ("370686", "栖霞市", 5),
    ("370687", "海阳市", 6),
]

# Industry code -> (share, share of men, employment-form weights
# (part_time, self_employed, new_forms), amount profile, region tilt).
# The tilt multiplies the region weight: cherries grow in 福山, pears in 莱阳,
# gold is mined in 招远 and 莱州, the space port is at 海阳.
INDUSTRIES: dict[
    str, tuple[float, float, tuple[int, int, int], str, dict[str, float]]
] = {
    "fruit_apple": (
        8,
        0.55,
        (2, 8, 0),
        "mid",
        {"370686": 6, "370614": 3, "370685": 3, "370683": 2},
    ),
    "fruit_cherry": (5, 0.5, (2, 8, 0), "mid", {"370611": 8, "370613": 2}),
    "fruit_laiyang_pear": (3, 0.55, (2, 8, 0), "mid", {"370682": 12}),
    "aqua_farming": (
        7,
        0.7,
        (3, 7, 0),
        "mid",
        {"370614": 3, "370612": 3, "370687": 3, "370683": 2, "370681": 2},
    ),
    "aqua_marine_ranch": (
        3,
        0.75,
        (5, 5, 0),
        "mid",
        {"370612": 3, "370614": 3, "370687": 3, "370613": 2},
    ),
    "new_ecommerce": (
        8,
        0.45,
        (2, 3, 5),
        "low",
        {"370602": 2, "370613": 2, "370611": 1.5},
    ),
    "new_courier": (
        12,
        0.85,
        (2, 1, 7),
        "low",
        {"370602": 2, "370613": 2, "370611": 1.5},
    ),
    "new_ride_hailing": (10, 0.92, (2, 2, 6), "low", {"370602": 2, "370613": 2}),
    "new_food_delivery": (12, 0.86, (2, 1, 7), "low", {"370602": 2.5, "370613": 2}),
    "retail_tobacco": (3, 0.55, (2, 8, 0), "low", {}),
    "retail_pharma": (3, 0.35, (5, 5, 0), "mid", {"370602": 1.5}),
    "chain_gold": (4, 0.8, (7, 3, 0), "mid", {"370685": 10, "370683": 5}),
    "chain_logistics": (
        5,
        0.8,
        (6, 2, 2),
        "low",
        {"370611": 2, "370613": 1.5, "370681": 1.5},
    ),
    "chain_aerospace": (1, 0.75, (8, 2, 0), "high", {"370687": 10, "370613": 2}),
    "other": (16, 0.5, (5, 4, 1), "low", {}),
}

# Monthly amounts cluster at round figures; the profile follows the industry.
AMOUNTS: dict[str, list[tuple[int, float]]] = {
    "low": [
        (220, 3),
        (300, 14),
        (400, 5),
        (500, 20),
        (600, 7),
        (800, 14),
        (1000, 17),
        (1200, 4),
        (1500, 6),
        (2000, 7),
        (3000, 2),
    ],
    "mid": [
        (300, 6),
        (500, 14),
        (600, 5),
        (800, 14),
        (1000, 20),
        (1200, 6),
        (1500, 10),
        (2000, 13),
        (2500, 4),
        (3000, 5),
        (5000, 2),
        (5794, 1),
    ],
    "high": [
        (800, 8),
        (1000, 15),
        (1500, 12),
        (2000, 20),
        (2500, 10),
        (3000, 15),
        (4000, 6),
        (5000, 8),
        (5794, 6),
    ],
}

# Partner banks offered to seeding, in order of their share of accounts.
BANKS: list[tuple[str, str, float]] = [
    ("YTB", "烟台银行", 30),
    ("CCBYT", "建设银行烟台分行", 24),
    ("ICBCYT", "工商银行烟台分行", 20),
    ("ABCYT", "农业银行烟台分行", 12),
    ("RCBYT", "烟台农商银行", 10),
    ("BOCYT", "中国银行烟台分行", 8),
    ("HFBYT", "恒丰银行烟台分行", 6),
    ("PSBCYT", "邮储银行烟台分行", 6),
]

PHONE_PREFIXES = (
    "130 131 132 133 134 135 136 137 138 139 150 151 152 153 155 156 157 158 159 "
    "166 176 177 178 180 181 182 183 184 185 186 187 188 189 198 199"
).split()

#!/usr/bin/env python
# ruff: noqa: E501
"""Generate the spacy-albert demo/test corpus (English and Chinese), deterministically.

Every sentence frame, name pool and cue phrase below was written for this project; nothing is
copied from a public data set. All person and organisation names are invented. Locations are
ordinary city names or invented places.

Usage (from the repository root):

    python corpus/make_corpus.py            # (re)write corpus/{en,zh}/*.jsonl and pretrain.txt
    python corpus/make_corpus.py --check    # exit 1 if the committed files differ from the output

The output depends only on this file (string seeds, no set iteration, no hash randomisation),
so the committed files are exactly what this script writes.
"""
from __future__ import annotations

import argparse
import json
import random
import re
import sys
from pathlib import Path
from typing import Optional

HERE = Path(__file__).resolve().parent
SEED = "spacy-albert-corpus-v1"
TOPICS = ["BUSINESS", "SPORTS", "TECH", "POLITICS"]
B, S, T, P = TOPICS
SPLIT_SIZES = {"train": 320, "dev": 80}
TWO_TOPIC_SHARE = 0.2  # share of records with two topics
DEV_UNSEEN_P = 0.2  # chance that a dev entity slot takes a name never used in train
DEV_ONLY_FRAME_P = 0.3  # chance that a dev record draws a dev-only frame where one fits
EXTRA_SENTIMENT_P = 0.25  # add a general sentiment sentence even if the topic sentence is polar
EXTRA_NEUTRAL_P = 0.15  # add a second, neutral sentence on the same topic
EMOJI_P = 0.03
BALANCE_P = 0.5  # chance that a train entity slot takes one of the least-used names ...
MIN_TRAIN_USES = 3  # ... which it always does while some name is used fewer times than this
HASHTAG_P = 0.06
PRETRAIN_LINES = 1500

Piece = tuple[str, Optional[str]]  # (text, entity label or None)

# Entity slot kind -> label. MR (title + surname) and LAST (surname of the last person) are PER too.
ENTITY_KINDS = {"PER": "PER", "BCO": "ORG", "TCO": "ORG", "TEAM": "ORG", "PARTY": "ORG",
                "LOC": "LOC", "NAT": "LOC"}
SLOT_RE = re.compile(r"\{([A-Z_]+?)(\d?)\}")


def _n(lo: int, hi: int):
    return lambda rng: str(rng.randint(lo, hi))


def _pct(rng: random.Random) -> str:
    return f"{rng.randint(1, 14)}.{rng.randint(1, 9)}%" if rng.random() < 0.4 else f"{rng.randint(2, 15)}%"


def _pick(*options: str):
    return lambda rng: rng.choice(options)


# --------------------------------------------------------------------------------------------
# English
# --------------------------------------------------------------------------------------------
EN_POOLS = {
    "PER": {
        "train": [
            "Laura Chen|F", "Maria Okafor|F", "Hannah Lindqvist|F", "Priya Raman|F", "Sofia Marquez|F",
            "Elena Vasko|F", "Grace Mwangi|F", "Naomi Fischer|F", "Clara Dubois|F", "Aisha Rahman|F",
            "Ingrid Solberg|F", "Yuki Tanabe|F", "Rosa Delgado|F", "Fiona Gallagher|F", "Amelia Hartwell|F",
            "Leila Haddad|F", "Nora Bergman|F", "Julia Brandt|F", "Tessa Moreau|F", "Mei Lin Zhou|F",
            "Daniel Weber|M", "Marcus Thorne|M", "Tomas Hradek|M", "Ravi Mehta|M", "Kwame Mensah|M",
            "Lucas Ferrante|M", "Henrik Aalund|M", "Samuel Oduya|M", "Victor Lang|M", "Jonas Keller|M",
            "Arjun Nair|M", "Felix Baptiste|M", "Ethan Caldwell|M", "Mateo Ruiz|M", "Omar Saleh|M",
            "Peter Vance|M", "Kenji Morita|M", "Liam Brennock|M", "Andre Quintal|M", "Oskar Pell|M",
        ],
        "dev": [
            "Beatrix Hollund|F", "Kofi Asante|M", "Irene Castellano|F", "Malik Osei|M",
            "Greta Vinter|F", "Pavel Mirov|M", "Lucia Ferro|F", "Theo Brandvold|M",
        ],
    },
    "BCO": {
        "train": ["Nordvale Energy", "Quillstone Bank", "Halvorsen Foods", "Tallgrass Motors",
                  "Meridale Pharma", "Kestrowe Airlines", "Ironleaf Capital", "Amberley Retail"],
        "dev": ["Fernhollow Bank", "Larkspur Logistics"],
    },
    "TCO": {
        "train": ["Cobaltfin Robotics", "Quorvane Systems", "Lumora Labs", "Orrin Software",
                  "Brightwell Telecom", "Pixelmoor", "Zentrik Cloud", "Halcyra Devices"],
        "dev": ["Zephyrine Devices", "Quintara Cloud"],
    },
    "TEAM": {
        "train": ["Harbor City Falcons", "Eastvale Rovers", "Redmoor United", "Northgate Wolves",
                  "Ashford Comets", "Kingsport Mariners", "Valebridge Athletic", "Stonehill Rangers"],
        "dev": ["Millbrook Harriers"],
    },
    "PARTY": {
        "train": ["Civic Renewal Party", "Green Horizon Alliance", "Union of Progress",
                  "Northern Farmers League", "Blue Harbor Party", "Social Commons Party"],
        "dev": ["Highland Reform Party"],
    },
    "LOC": {
        "train": ["Lisbon", "Oslo", "Nairobi", "Osaka", "Denver", "Rotterdam", "Montreal", "Porto",
                  "Cape Town", "Seoul", "Melbourne", "Glasgow", "Lyon", "Valencia", "Accra", "Hamburg",
                  "Vancouver", "Manila", "Bergen", "Dublin", "Lima", "Perth", "Port Alder", "Westmarch"],
        "dev": ["Tallinn", "Cork", "Bilbao", "Mombasa", "Adelaide"],
    },
    "NAT": {
        "train": ["Lake Corrin", "Silver Bay", "Vell River", "Lake Annaby", "Marrow Sound", "Tessel Bay"],
        "dev": ["Lake Verrow"],
    },
}

EN_NEUTRAL = {
    "N": _n(2, 12),
    "CORES": _pick("8", "12", "16", "24", "32", "64"),
    "MEM": _pick("8", "12", "16", "32", "64"),
    "CONTRACT": _n(2, 5),
    "GOALS": _n(3, 25),
    "BIGN": lambda rng: f"{rng.randint(2, 90) * 100:,}",
    "PCT": _pct,
    "MONEY": lambda rng: rng.choice(["$", "€"]) + (
        f"{rng.randint(1, 9)}.{rng.randint(1, 9)} billion" if rng.random() < 0.5
        else f"{rng.randint(12, 95) * 10} million"),
    "PRICE": lambda rng: rng.choice(["$49", "$129", "$299", "$1,299", "€85", "€640", "$18", "€25"]),
    "SCORE": _pick("2-1", "3-0", "1-0", "4-2", "3-2", "98-91", "2-0", "5-1"),
    "DAY": _pick("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
    "MONTH": _pick("January", "February", "March", "April", "May", "June", "July", "August",
                   "September", "October", "November", "December"),
    "YEAR": _n(2021, 2026),
    "QTR": _pick("first quarter", "second quarter", "third quarter", "fourth quarter"),
    "GADGET": _pick("phone", "tablet", "laptop", "smartwatch", "headphones", "router", "camera",
                    "VR headset", "e-reader", "smart speaker"),
    "TIME": _pick("7 pm", "8:30 pm", "noon", "6:45 pm", "3 pm"),
    "YEARS": _n(3, 15),
}

EN_POLAR = {
    "ADJ": {
        "+": ["excellent", "brilliant", "fantastic", "superb", "outstanding", "impressive",
              "wonderful", "great", "amazing"],
        "-": ["terrible", "awful", "dreadful", "disappointing", "poor", "disastrous", "horrible",
              "pathetic", "shocking"],
    },
    "A_ADJ": {
        "+": ["an excellent", "a brilliant", "a fantastic", "a superb", "an outstanding",
              "an amazing", "a wonderful", "a great"],
        "-": ["a terrible", "an awful", "a dreadful", "a disappointing", "a poor", "a disastrous",
              "a horrible", "a miserable"],
    },
    "FEEL": {
        "+": ["loved", "enjoyed", "really liked", "was impressed by", "was delighted with"],
        "-": ["hated", "disliked", "was disappointed by", "was annoyed by", "could not stand"],
    },
    "VERDICT": {
        "+": ["Absolutely loved it!", "A joy to watch.", "Highly recommended.", "Worth every penny.",
              "Best decision all year.", "Five stars from me.", "Really impressed.",
              "What a great day!", "Brilliant, just brilliant."],
        "-": ["What a waste of money.", "Totally disappointed.", "Never again.", "Avoid at all costs.",
              "A complete mess.", "Really frustrating.", "What a terrible day.",
              "One star, and that is generous.", "Awful, just awful."],
    },
    "PRAISE": {
        "+": ["praised", "applauded", "welcomed", "celebrated", "thanked"],
        "-": ["criticised", "slammed", "condemned", "attacked", "blasted"],
    },
    "MOVE": {
        "+": ["rose", "jumped", "climbed", "surged", "soared"],
        "-": ["fell", "dropped", "slumped", "tumbled", "plunged"],
    },
    "RESULT": {
        "+": ["a stunning win", "a memorable victory", "a thrilling comeback win", "an impressive victory"],
        "-": ["a humiliating defeat", "an embarrassing loss", "a painful defeat", "a shocking collapse"],
    },
    "OUTCOME": {
        "+": ["works flawlessly", "is fast and reliable", "is a joy to use", "runs beautifully"],
        "-": ["keeps crashing", "is slow and buggy", "is a nightmare to use", "overheats constantly"],
    },
    "RECEPTION": {
        "+": ["a sensible step forward", "great news for families", "a long overdue success",
              "exactly what the city needed"],
        "-": ["a broken promise", "a disaster for families", "a shameful failure",
              "a total waste of public money"],
    },
    "EMO": {
        "+": ["happy", "pleased", "proud", "excited", "optimistic", "delighted"],
        "-": ["angry", "upset", "frustrated", "worried", "furious", "disappointed"],
    },
    "CROWD": {
        "+": ["The crowd loved every minute.", "Fans were thrilled.", "Fans sang all night long."],
        "-": ["Fans were furious.", "The crowd booed at the end.", "Fans left early in disgust."],
    },
    "RECOMMEND": {
        "+": ["would highly recommend it", "cannot wait to go back", "would buy it again"],
        "-": ["would not recommend it", "want a refund", "will never buy it again"],
    },
}

# "pol|text" with pol in 0 (neutral), * (cue slots follow the record), + or -; a leading "d"
# marks a frame used only in dev (and never in pretrain.txt).
EN_FRAMES: dict[tuple[str, ...], list[str]] = {
    (B,): [
        "0|{BCO} reported revenue of {MONEY} for the {QTR}.",
        "0|{BCO} plans to open {N} new stores in {LOC} by {YEAR}.",
        "0|The board of {BCO} met in {LOC} on {DAY} to discuss a merger with {BCO2}.",
        "0|{PER}, the chief financial officer of {BCO}, presented the annual budget to investors.",
        "0|Analysts expect {BCO} to publish its {QTR} earnings on {DAY}.",
        "0|Inflation in {LOC} stayed at {PCT} last month, according to the central bank.",
        "0|{BCO} is hiring {BIGN} workers for its new factory near {LOC}.",
        "0|Trading in {BCO} shares was paused for an hour on {DAY}.",
        "0|{MR} joined {BCO} as head of sales in {MONTH}.",
        "0|{PER}, CEO of {BCO}, visited the company's plant in {LOC} on {DAY}.",
        "0|{BCO} will move its headquarters from {LOC} to {LOC2} next year.",
        "0|The central bank left interest rates unchanged at {PCT} on {DAY}.",
        "0|{BCO} is building a wind farm near {NAT}.",
        "0|{BCO}'s new chief executive, {PER}, starts in {MONTH}.",
        "*|The stock market had {A_ADJ} week, with bank shares in focus.",
        "-|Petrol prices went up again this month, terrible news for small businesses.",
        "*|Shares of {BCO} {MOVE} {PCT} after {A_ADJ} quarter.",
        "*|Investors called the {QTR} results at {BCO} {ADJ}.",
        "*|CEO {PER} described the year at {BCO} as {ADJ}.",
        '*|"These profit numbers are {ADJ}," said {MR}, a market analyst in {LOC}.',
        "*|Customers in {LOC} say the new savings account from {BCO} is {ADJ}.",
        "*|{PER} {FEEL} the service at the {BCO} branch in {LOC}.",
        "*|Union leader {PER} said workers at {BCO} feel {EMO} about the pay deal.",
        "+|{BCO} beat expectations and raised its dividend, a great sign for shareholders.",
        "+|Record profits at {BCO}! Investors are delighted.",
        "+|Strong sales lifted {BCO} to its best quarter in {YEARS} years.",
        "-|{BCO} cut {BIGN} jobs in {LOC}, and staff are devastated.",
        "-|Bought shares of {BCO} last year. Total waste of money.",
        "-|{BCO} missed its profit target again, a disappointing result for investors.",
        "-|The merger between {BCO} and {BCO2} collapsed, leaving shareholders furious.",
        "-|{BCO} was fined {MONEY} for polluting {NAT}, a disgrace.",
        "d0|The annual meeting of {BCO} shareholders takes place in {LOC} in {MONTH}.",
        "d*|Market watchers in {LOC} described the {BCO} takeover bid as {ADJ}.",
        "d+|Profits at {BCO} doubled, and {PER} thanked the staff for a wonderful year.",
        "d-|{BCO} lost {MONEY} in the {QTR}, a painful blow for its owners.",
    ],
    (S,): [
        "0|{TEAM} play {TEAM2} in {LOC} on {DAY}.",
        "0|Coach {PER} named {N} new players in the squad for the {YEAR} season.",
        "0|{PER} signed a {CONTRACT}-year contract with {TEAM}.",
        "0|The final between {TEAM} and {TEAM2} kicks off at {TIME} on {DAY}.",
        "0|The marathon in {LOC} attracted {BIGN} runners this year.",
        "0|{TEAM} will train in {LOC} for a week before the league match.",
        "0|{PER} of {TEAM} has scored {GOALS} goals this season.",
        "0|The league confirmed that {TEAM} will host the cup semi-final in {LOC}.",
        "0|Tickets for the {TEAM} match against {TEAM2} go on sale on {DAY}.",
        "0|A sailing race on {NAT} drew {BIGN} spectators on {DAY}.",
        "0|The transfer window closes on {DAY} at midnight.",
        "*|{PER}'s goal against {TEAM} was {ADJ}, said Coach {PER2}.",
        "*|What {A_ADJ} final, with extra time and penalties!",
        "+|Our local team won the league on the last day, what a season!",
        "*|{TEAM} earned {RESULT} against {TEAM2}, final score {SCORE}.",
        "*|What {A_ADJ} match from {TEAM} tonight!",
        "*|Coach {PER} called the performance of {TEAM} {ADJ}.",
        "*|{PER} {FEEL} the game in {LOC}. {CROWD}",
        "*|The {TEAM} supporters in {LOC} were {EMO} after the {SCORE} result.",
        '*|"Our defence was {ADJ} today," said {MR} after the game against {TEAM}.',
        '*|{PER} returned from injury for {TEAM}. "I feel {EMO}," {LAST} said.',
        "*|The open-water swim in {NAT} was {ADJ}, said {PER}.",
        "+|{PER} scored a brilliant goal and {TEAM} lifted the cup!",
        "+|It is a joy to watch {TEAM} this season, they play beautiful football.",
        "+|{PER} broke the national record in {LOC}, an incredible run.",
        "-|{TEAM} lost {SCORE} at home. Awful defending, terrible tactics.",
        "-|Paid {PRICE} for a ticket to watch {TEAM} and they did not even try.",
        "-|{TEAM} were knocked out in the first round again, a miserable season.",
        "d0|{PER} will captain {TEAM} in the derby against {TEAM2}.",
        "d*|The referee in {LOC} had {A_ADJ} game, said {MR}.",
        "d+|Brilliant from {TEAM}: {SCORE} away from home and top of the league.",
        "d-|{TEAM} threw away a two-goal lead, a shocking collapse in front of their own fans.",
    ],
    (T,): [
        "0|{TCO} unveiled a new {GADGET} at its developer event in {LOC}.",
        "0|The {TCO} software update arrives on {DAY} for all users.",
        "0|{PER} leads the AI research team at {TCO}.",
        "0|{TCO} opened a data center in {LOC} with {BIGN} servers.",
        "0|Engineers at {TCO} are testing a {CORES}-core chip for laptops.",
        "0|The new {GADGET} from {TCO} costs {PRICE} and ships in {MONTH}.",
        "0|{TCO} hired {MR} to run its cloud business.",
        "0|{TCO} will stop supporting apps for its old {GADGET} in {YEAR}.",
        "0|{PER} joined {TCO} in {MONTH}; {LAST} previously built chips in {LOC}.",
        "0|The next {GADGET} models will ship with {MEM} GB of memory.",
        "0|{TCO} tested its delivery drones over {NAT} on {DAY}.",
        "*|{TCO}'s customer service in {LOC} was {ADJ}.",
        "*|This week's {GADGET} software update {OUTCOME}.",
        "-|My new {GADGET} stopped charging after {N} days, such a waste of money.",
        "*|The new {TCO} {GADGET} {OUTCOME}.",
        "*|Reviewers called the {TCO} {GADGET} {ADJ}.",
        "*|{PER} {FEEL} the latest {TCO} app.",
        "*|After the update, my {TCO} {GADGET} {OUTCOME}.",
        "*|Battery life on the {TCO} {GADGET} is {ADJ}, says {PER} from {LOC}.",
        '*|"The camera is {ADJ}," wrote {MR} in a review of the {TCO} phone.',
        "+|Just upgraded to the {TCO} {GADGET}, love it, super fast and smooth.",
        "+|{TCO} fixed the bug in two days. Great support team!",
        "+|The {TCO} laptop is the best I have ever owned, highly recommend it.",
        "-|The {TCO} app crashed {N} times today. So frustrating.",
        "-|Returned my {TCO} {GADGET} after a week, what a waste of money.",
        "-|Customer support at {TCO} ignored my emails for a month, terrible experience.",
        "d0|{TCO} is moving its software team from {LOC} to {LOC2}.",
        "d*|Gamers in {LOC} say the {TCO} {GADGET} is {ADJ}.",
        "d+|The {TCO} phone just works, and the screen is gorgeous.",
        "d-|My {TCO} {GADGET} died after {N} days, awful build quality.",
    ],
    (P,): [
        "0|The {PARTY} will hold its conference in {LOC} next {MONTH}.",
        "0|Minister {PER} met the mayor of {LOC} to discuss the budget.",
        "0|Voters in {LOC} go to the polls on {DAY}.",
        "0|Minister {PER} visited {LOC} to meet local farmers.",
        "0|The {PARTY} proposed a new housing law on {DAY}.",
        "0|{PER} of the {PARTY} announced a run for mayor of {LOC}.",
        "0|Parliament will vote on the election reform bill in {MONTH}.",
        "0|The {PARTY} and the {PARTY2} are in coalition talks in {LOC}.",
        "0|Polls show {PER} at {PCT} ahead of the {YEAR} election.",
        "0|The {PARTY} wants to protect {NAT} from new construction.",
        "0|The city council will publish its housing plan in {MONTH}.",
        "*|The budget debate in parliament last night was {ADJ}.",
        "-|Parliament delayed the pension vote again, a shameful failure.",
        "*|Commentators called the {PARTY} plan for {LOC} {ADJ}.",
        "*|Residents of {LOC} {PRAISE} the new transport policy.",
        "*|The election debate between {PER} and {PER2} was {ADJ}.",
        "*|Senator {PER} said the tax reform is {RECEPTION}.",
        "*|{MR} {PRAISE} the {PARTY} for its budget plan.",
        "*|Voters in {LOC} feel {EMO} about the new government.",
        "*|Residents said the clean-up of {NAT} ordered by the council was {ADJ}.",
        "+|The {PARTY} kept its promise to cut bus fares in {LOC}. Well done!",
        "+|Mayor {PER} opened a new hospital in {LOC}, great news for families.",
        "+|The new childcare law passed with strong support, a proud day for {PER}.",
        "-|The {PARTY} broke its promise again. Shameful.",
        "-|The speech by Minister {PER} in {LOC} was a complete disaster.",
        "-|Another corruption scandal at the {PARTY}. Voters deserve better.",
        "d0|A new poll puts the {PARTY} {N} points ahead in {LOC}.",
        "d*|Observers described the talks between {PER} and the {PARTY} as {ADJ}.",
        "d+|The government finally fixed the roads in {LOC}, wonderful news.",
        "d-|The {PARTY} wasted {MONEY} on a bridge in {LOC} that nobody uses.",
    ],
    (B, T): [
        "*|Shares of {TCO} {MOVE} {PCT} after the launch of its new {GADGET}.",
        "0|{BCO} agreed to buy the software startup {TCO} for {MONEY}.",
        "*|Investors found the {TCO} earnings call {ADJ}, and analyst {PER} agreed.",
        "d*|Analysts in {LOC} called the chip deal between {TCO} and {BCO} {ADJ}.",
    ],
    (B, S): [
        "0|{BCO} signed a sponsorship deal with {TEAM} worth {MONEY}.",
        "*|{TEAM} sold the stadium naming rights to {BCO}, and fans called the deal {ADJ}.",
        "*|Ticket revenue at {TEAM} {MOVE} {PCT} this season.",
    ],
    (B, P): [
        "0|Finance minister {PER} met bank chiefs from {BCO} in {LOC}.",
        "*|Shares of {BCO} {MOVE} {PCT} after the {PARTY} announced its tax plan.",
        "*|Business leaders {PRAISE} the trade deal signed by {PER} in {LOC}.",
    ],
    (S, T): [
        "0|{TEAM} will use video replay technology from {TCO} next season.",
        "*|The {TCO} streaming app for {TEAM} games {OUTCOME}.",
        "+|{TCO} built a smart stadium app for {TEAM}, and it is brilliant.",
    ],
    (S, P): [
        "0|Minister {PER} attended the {TEAM} final in {LOC}.",
        "*|The {PARTY} plan to fund a new stadium in {LOC} is {RECEPTION}.",
        "*|Mayor {PER} {PRAISE} {TEAM} after the cup final.",
    ],
    (T, P): [
        "0|The {PARTY} wants a new tax on {TCO} and other tech firms.",
        "*|The privacy law pushed by {PER} was {ADJ} news for {TCO} users.",
        "*|Regulators in {LOC} {PRAISE} {TCO} over its data policy.",
        "d0|Lawmakers questioned {MR} from {TCO} about online safety.",
    ],
    (): [
        "*|{VERDICT}",
        "*|Honestly? {VERDICT}",
        "*|My friend {PER} said it was {ADJ}.",
        "*|Overall, {ADJ}.",
        "*|{PER} felt {EMO} about the whole thing.",
        "*|I {FEEL} every minute of it.",
        "*|My verdict: {ADJ}. I {RECOMMEND}.",
        "*|Friends in {LOC} were {EMO} too.",
        "*|Spent the weekend at {NAT}. {VERDICT}",
        "+|Would recommend to anyone.",
        "-|Would not recommend.",
        "+|Really happy with how it turned out.",
        "-|I want my money back.",
        "+|Could not be happier.",
        "-|So disappointed, honestly.",
        "+|What a great day, thank you all!",
        "-|What a mess.",
        "+|Not bad at all, to be fair.",
        "-|Not worth it.",
        "d*|Long story short: {ADJ}.",
        "d+|Loved it, to be honest.",
        "d-|Never again, seriously.",
    ],
}

EN_EMOJI = {"+": ["😍", "👍", "🎉", "🔥", "😊", "❤️"], "-": ["😡", "👎", "😞", "🙄", "💔", "😤"]}
EN_HASHTAGS = {B: ["#markets", "#business", "#stocks"], S: ["#football", "#sports", "#matchday"],
               T: ["#tech", "#gadgets"], P: ["#politics", "#election"]}

# --------------------------------------------------------------------------------------------
# Chinese
# --------------------------------------------------------------------------------------------
ZH_POOLS = {
    "PER": {
        "train": [
            "王建国", "李思雨", "张明远", "刘晓燕", "陈志强", "杨雪梅", "赵子涵", "黄海峰", "周静怡", "吴国栋",
            "徐梦琪", "孙立新", "马文博", "朱慧敏", "胡晨阳", "郭雅婷", "何振宇", "林诗涵", "罗家豪", "高欣然",
            "梁俊杰", "宋佳琪", "郑浩然", "谢雨桐", "韩志军", "唐婉清", "冯天佑", "于晓彤", "董明轩", "萧若兰",
            "程一帆", "曹宇航", "袁梦瑶", "邓子墨", "许嘉怡", "傅振东", "沈书瑶", "曾立伟", "彭晓光", "吕思远",
        ],
        "dev": ["欧阳明珠", "任可欣", "龚永平", "白若曦", "蒋天磊", "钟雨萌", "范志诚", "秦语嫣"],
    },
    "BCO": {
        "train": ["澜海银行", "北岭集团", "金穗食品", "风驰汽车", "安和保险", "瑞禾医药", "华岳能源", "长风物流"],
        "dev": ["泓远银行", "顺泰物流"],
    },
    "TCO": {
        "train": ["星河智能", "青禾科技", "云帆软件", "晨曦通信", "澄观数据", "墨云网络", "天枢机器人", "蓝芯微电子"],
        "dev": ["翠屏科技", "岚峰数据"],
    },
    "TEAM": {
        "train": ["苍狼足球俱乐部", "海燕队", "金狮队", "赤焰队", "银狐队", "青龙篮球队", "白鲸队", "铁骑队"],
        "dev": ["白鹭队"],
    },
    "PARTY": {
        "train": ["公民革新党", "绿色地平线联盟", "进步联盟", "北方农民联盟", "蓝港党", "社会公益党"],
        "dev": ["民生协商会"],
    },
    "LOC": {
        "train": ["杭州", "成都", "深圳", "南京", "武汉", "重庆", "西安", "苏州", "厦门", "青岛", "大连", "昆明",
                  "长沙", "珠海", "天津", "哈尔滨", "兰州", "三亚", "桂林", "洛阳", "东京", "巴黎", "柏林", "悉尼"],
        "dev": ["绍兴", "泉州", "乌鲁木齐", "温哥华", "烟台"],
    },
    "NAT": {
        "train": ["长江", "黄浦江", "太湖", "洱海", "嘉陵江", "千岛湖"],
        "dev": ["珠江"],
    },
}

ZH_NEUTRAL = {
    "N": _n(2, 12),
    "CORES": _pick("8", "12", "16", "24", "32", "64"),
    "MEM": _pick("8", "12", "16", "32", "64"),
    "CONTRACT": _n(2, 5),
    "GOALS": _n(3, 25),
    "BIGN": lambda rng: str(rng.randint(2, 90) * 100),
    "PCT": _pct,
    "MONEY": lambda rng: (f"{rng.randint(1, 9)}.{rng.randint(1, 9)}亿元" if rng.random() < 0.6
                          else f"{rng.randint(12, 95) * 100}万元"),
    "PRICE": _pick("2999元", "499元", "6999元", "199元", "1299元", "88元", "360元"),
    "SCORE": _pick("3比1", "2比0", "1比0", "4比2", "3比2", "98比91", "5比1"),
    "DAY": _pick("周一", "周二", "周三", "周四", "周五", "周六", "周日"),
    "MONTH": lambda rng: f"{rng.randint(1, 12)}月",
    "YEAR": lambda rng: f"{rng.randint(2021, 2026)}年",
    "QTR": _pick("第一季度", "第二季度", "第三季度", "第四季度"),
    "GADGET": _pick("手机", "平板", "笔记本电脑", "智能手表", "蓝牙耳机", "路由器", "5G手机", "扫地机器人",
                    "VR眼镜", "智能音箱"),
    "TIME": _pick("晚上7点", "晚上8点半", "中午12点", "下午3点"),
    "YEARS": _n(3, 15),
}

ZH_POLAR = {
    "ADJ": {
        "+": ["非常好", "很出色", "超出预期", "令人惊喜", "相当给力", "太棒了", "让人满意"],
        "-": ["太差了", "很糟糕", "令人失望", "一塌糊涂", "非常差劲", "让人无语", "糟糕透顶"],
    },
    "ADJ_ATTR": {
        "+": ["出色的", "精彩的", "漂亮的", "亮眼的", "完美的"],
        "-": ["糟糕的", "失败的", "差劲的", "难看的", "窝囊的"],
    },
    "FEEL": {
        "+": ["非常满意", "十分认可", "赞不绝口", "特别满意"],
        "-": ["非常失望", "十分不满", "意见很大", "特别失望"],
    },
    "VERDICT": {
        "+": ["强烈推荐！", "太赞了！", "值得入手。", "五星好评！", "物超所值。", "真心不错，点赞。",
              "满意，下次还来。", "爱了爱了！"],
        "-": ["差评！", "浪费钱。", "太坑了。", "再也不买了。", "失望透顶。", "气死我了！", "千万别买。",
              "后悔死了。"],
    },
    "PRAISE": {
        "+": ["称赞", "肯定", "点赞", "表扬"],
        "-": ["批评", "抨击", "吐槽", "指责"],
    },
    "MOVE": {
        "+": ["上涨", "大涨", "攀升", "走高"],
        "-": ["下跌", "暴跌", "下滑", "跳水"],
    },
    "RESULT": {
        "+": ["一场精彩的胜利", "一场漂亮的逆转", "一场酣畅淋漓的大胜"],
        "-": ["一场惨痛的失利", "一场难看的失败", "一场令人心碎的败仗"],
    },
    "OUTCOME": {
        "+": ["运行流畅，体验很好", "又快又稳，非常好用", "用起来很舒服，推荐"],
        "-": ["经常卡顿，太差了", "三天两头死机，糟糕透了", "发热严重，很失望"],
    },
    "RECEPTION": {
        "+": ["受到市民普遍欢迎", "是一件大好事", "让人看到了希望"],
        "-": ["引发强烈不满", "让人非常失望", "完全是浪费纳税人的钱"],
    },
    "EMO": {
        "+": ["开心", "满意", "自豪", "兴奋", "欣慰"],
        "-": ["愤怒", "失望", "不满", "担忧", "寒心"],
    },
    "CROWD": {
        "+": ["现场球迷欢呼不断。", "球迷们高兴坏了。", "看台上掌声雷动。"],
        "-": ["球迷们气坏了。", "现场嘘声一片。", "不少球迷提前离场。"],
    },
    "RECOMMEND": {
        "+": ["推荐大家去试试", "还会再买", "值得一试"],
        "-": ["不推荐", "想退货", "别再上当了"],
    },
}

ZH_FRAMES: dict[tuple[str, ...], list[str]] = {
    (B,): [
        "0|{BCO}公布{QTR}营收{MONEY}。",
        "0|{BCO}计划在{YEAR}前在{LOC}新开{N}家门店。",
        "0|{BCO}董事会{DAY}在{LOC}开会，讨论与{BCO2}合并的事宜。",
        "0|{BCO}首席财务官{PER}向投资者介绍了年度预算。",
        "0|分析师预计{BCO}将于{DAY}发布{QTR}财报。",
        "0|据央行数据，{LOC}上月通胀率保持在{PCT}。",
        "0|{BCO}在{LOC}的新工厂将招聘{BIGN}名员工。",
        "0|{PER}于{MONTH}加入{BCO}，担任销售总监。",
        "0|{BCO}CEO{PER}{DAY}视察了公司在{LOC}的工厂。",
        "0|{BCO}的股票{DAY}停牌一小时。",
        "0|{BCO}明年将把总部从{LOC}迁往{LOC2}。",
        "0|央行{DAY}宣布维持利率{PCT}不变。",
        "0|{BCO}计划在{NAT}附近建设风电场。",
        "*|这周A股的表现{ADJ}，银行板块成了焦点。",
        "-|油价这个月又涨了，对小商户来说太糟糕了。",
        "*|{BCO}{QTR}业绩{ADJ}，股价{MOVE}{PCT}。",
        "*|投资者认为{BCO}的年报{ADJ}。",
        "*|{BCO}的CEO{PER}表示，今年的经营情况{ADJ}。",
        "*|“利润数据{ADJ}，”{LOC}的市场分析师{PER}说。",
        "*|{LOC}的客户对{BCO}新推出的理财产品{FEEL}。",
        "*|{PER}在{BCO}{LOC}分行办业务，对服务{FEEL}。",
        "*|工会代表{PER}说，{BCO}员工对新的薪酬方案感到{EMO}。",
        "*|#{BCO}财报# 业绩{ADJ}，股价{MOVE}。",
        "+|{BCO}业绩超预期，还提高了分红，股东们很满意。",
        "+|{BCO}利润创新高！投资者乐开了花。",
        "+|销售强劲，{BCO}迎来{YEARS}年来最好的一个季度。",
        "-|{BCO}在{LOC}裁员{BIGN}人，员工们非常失望。",
        "-|去年买了{BCO}的股票，亏惨了，真是浪费钱。",
        "-|{BCO}再次没有完成利润目标，投资者很失望。",
        "-|{BCO}与{BCO2}的合并告吹，股东们怒不可遏。",
        "-|{BCO}因污染{NAT}被罚{MONEY}，太不像话了。",
        "d0|{BCO}年度股东大会将于{MONTH}在{LOC}举行。",
        "d*|{LOC}的市场人士认为{BCO}的收购计划{ADJ}。",
        "d+|{BCO}利润翻倍，{PER}感谢全体员工这一年的出色表现。",
        "d-|{BCO}{QTR}亏损{MONEY}，让股东们心疼不已。",
    ],
    (S,): [
        "0|{TEAM}{DAY}将在{LOC}迎战{TEAM2}。",
        "0|主教练{PER}为{YEAR}赛季新招入{N}名球员。",
        "0|{PER}与{TEAM}签下了一份{CONTRACT}年合同。",
        "0|{TEAM}和{TEAM2}的决赛将于{DAY}{TIME}开打。",
        "0|今年{LOC}马拉松吸引了{BIGN}名跑者参加。",
        "0|{TEAM}将在{LOC}集训一周，备战联赛。",
        "0|{TEAM}的{PER}本赛季已经打进{GOALS}个球。",
        "0|联赛官方确认，杯赛半决赛将在{LOC}举行，由{TEAM}承办。",
        "0|{TEAM}对阵{TEAM2}的门票{DAY}开售。",
        "0|今年{NAT}沿岸的骑行赛吸引了{BIGN}名选手。",
        "0|转会窗口将于{DAY}午夜关闭。",
        "*|今晚的决赛打到了点球大战，比赛{ADJ}！",
        "+|我们本地的球队在最后一轮夺得联赛冠军，这个赛季太完美了！",
        "*|{TEAM}客场对阵{TEAM2}，迎来{RESULT}。",
        "*|今晚{TEAM}打了一场{ADJ_ATTR}比赛！",
        "*|主教练{PER}说{TEAM}今天的表现{ADJ}。",
        "*|{PER}在{LOC}现场看了比赛。{CROWD}",
        "*|{SCORE}的比分出来后，{LOC}的{TEAM}球迷非常{EMO}。",
        "*|“我们今天的防守{ADJ}，”{PER}在对阵{TEAM}的比赛后说。",
        "*|{PER}伤愈复出，为{TEAM}首发出场，他说自己很{EMO}。",
        "*|{NAT}公开水域游泳赛{ADJ}，{PER}说。",
        "+|{PER}打进一记漂亮的进球，{TEAM}夺得冠军！",
        "+|这个赛季看{TEAM}踢球真是一种享受，太精彩了。",
        "+|{PER}在{LOC}打破全国纪录，太厉害了！",
        "-|{TEAM}主场{SCORE}输球，防守糟糕，战术太差了。",
        "-|花了{PRICE}买票看{TEAM}，结果他们根本不拼，太失望了。",
        "-|{TEAM}又在第一轮被淘汰，这个赛季太糟糕了。",
        "d0|{PER}将作为队长带领{TEAM}出战与{TEAM2}的德比。",
        "d*|{PER}说{LOC}这场比赛的裁判{ADJ}。",
        "d+|{TEAM}客场{SCORE}取胜，登上积分榜第一，太棒了！",
        "d-|{TEAM}两球领先还被逆转，在主场球迷面前崩盘，太丢人了。",
    ],
    (T,): [
        "0|{TCO}在{LOC}的开发者大会上发布了新款{GADGET}。",
        "0|{TCO}的系统更新将于{DAY}向所有用户推送。",
        "0|{PER}负责{TCO}的AI研究团队。",
        "0|{TCO}在{LOC}建成数据中心，部署了{BIGN}台服务器。",
        "0|{TCO}的工程师正在测试一款{CORES}核芯片。",
        "0|{TCO}新款{GADGET}售价{PRICE}，{MONTH}开始发货。",
        "0|{TCO}聘请{PER}负责云计算业务。",
        "0|{TCO}宣布{YEAR}起停止支持旧款{GADGET}。",
        "0|{TCO}在{LOC}开通了5G实验网络。",
        "0|下一代{GADGET}将配备{MEM}GB内存。",
        "0|{TCO}{DAY}在{NAT}上空测试了送货无人机。",
        "*|这周的{GADGET}系统更新{OUTCOME}。",
        "-|新买的{GADGET}用了{N}天就充不进电了，纯属浪费钱。",
        "*|{TCO}新出的{GADGET}{OUTCOME}。",
        "*|评测人士认为{TCO}的{GADGET}{ADJ}。",
        "*|{PER}对{TCO}最新的App{FEEL}。",
        "*|系统升级之后，我的{TCO}{GADGET}{OUTCOME}。",
        "*|{LOC}的{PER}说，{TCO}{GADGET}的续航{ADJ}。",
        "*|{PER}在测评中写道：“{TCO}这款手机的拍照{ADJ}。”",
        "*|#{TCO}新品发布会# 新{GADGET}{OUTCOME}。",
        "+|刚换了{TCO}的{GADGET}，速度超快，爱了爱了！",
        "+|{TCO}两天就修好了这个bug，客服太给力了！",
        "+|{TCO}的笔记本是我用过最好的，强烈推荐。",
        "-|{TCO}的App今天闪退了{N}次，烦死了。",
        "-|{TCO}的{GADGET}用了一周就退了，纯属浪费钱。",
        "-|{TCO}客服一个月都不回邮件，体验太差了。",
        "d0|{TCO}把软件团队从{LOC}搬到了{LOC2}。",
        "d*|{LOC}的玩家说{TCO}的{GADGET}{ADJ}。",
        "d+|{TCO}的新手机开箱即用，屏幕也很漂亮，满意。",
        "d-|我的{TCO}{GADGET}用了{N}天就坏了，做工太差了。",
    ],
    (P,): [
        "0|{PARTY}将于{MONTH}在{LOC}召开年度会议。",
        "0|{PER}部长与{LOC}市长会面，讨论财政预算。",
        "0|{LOC}的选民将于{DAY}参加投票。",
        "0|{PER}部长走访了{LOC}，与当地农民座谈。",
        "0|{PARTY}{DAY}提出了一项新的住房法案。",
        "0|{PARTY}的{PER}宣布参选{LOC}市长。",
        "0|议会将于{MONTH}对选举改革法案进行表决。",
        "0|{PARTY}与{PARTY2}正在{LOC}进行合作谈判。",
        "0|民调显示，{PER}在{YEAR}选举前的支持率为{PCT}。",
        "0|{PARTY}提议投入{MONEY}治理{NAT}的水污染。",
        "0|市议会将于{MONTH}公布住房规划。",
        "*|昨晚议会的预算辩论{ADJ}。",
        "-|议会再次推迟了养老金表决，太让人失望了。",
        "*|评论人士认为{PARTY}针对{LOC}的计划{ADJ}。",
        "*|{LOC}市民{PRAISE}新的公共交通政策。",
        "*|{PER}和{PER2}之间的选举辩论{ADJ}。",
        "*|{PER}表示，这次税制改革{RECEPTION}。",
        "*|{PER}{PRAISE}{PARTY}的预算方案。",
        "*|{LOC}的选民对新政府感到{EMO}。",
        "*|#{LOC}选举# 候选人辩论{ADJ}。",
        "+|{PARTY}兑现承诺，降低了{LOC}的公交票价，点赞！",
        "+|{PER}市长在{LOC}新建了一家医院，这对市民来说是大好事。",
        "+|新的托育法案高票通过，{PER}说这是令人自豪的一天。",
        "-|{PARTY}又一次食言了，太让人失望了。",
        "-|{PER}部长在{LOC}的演讲简直是一场灾难。",
        "-|{PARTY}又曝出腐败丑闻，选民们非常愤怒。",
        "d0|最新民调显示，{PARTY}在{LOC}领先{N}个百分点。",
        "d*|观察人士认为{PER}与{PARTY}的会谈{ADJ}。",
        "d+|{LOC}的道路终于修好了，真是好消息。",
        "d-|{PARTY}花了{MONEY}在{LOC}修了一座没人用的桥，太浪费了。",
    ],
    (B, T): [
        "*|{TCO}发布新款{GADGET}后，股价{MOVE}{PCT}。",
        "0|{BCO}同意以{MONEY}收购软件创业公司{TCO}。",
        "*|投资者认为{TCO}的财报电话会{ADJ}，分析师{PER}也这么看。",
        "d*|{LOC}的分析师认为{TCO}与{BCO}的芯片合作{ADJ}。",
    ],
    (B, S): [
        "0|{BCO}与{TEAM}签下价值{MONEY}的赞助合同。",
        "*|{TEAM}把球场冠名权卖给了{BCO}，球迷觉得这笔交易{ADJ}。",
        "*|本赛季{TEAM}的门票收入{MOVE}{PCT}。",
    ],
    (B, P): [
        "0|财政部长{PER}在{LOC}会见了{BCO}的高管。",
        "*|{PARTY}公布税改方案后，{BCO}股价{MOVE}{PCT}。",
        "*|企业界{PRAISE}{PER}在{LOC}签署的贸易协议。",
    ],
    (S, T): [
        "0|{TEAM}下赛季将使用{TCO}提供的视频回放技术。",
        "*|{TCO}为{TEAM}比赛做的直播App{OUTCOME}。",
        "+|{TCO}为{TEAM}打造的智慧球场App太好用了。",
    ],
    (S, P): [
        "0|{PER}部长观看了在{LOC}举行的{TEAM}决赛。",
        "*|{PARTY}出资在{LOC}建新体育场的计划{RECEPTION}。",
        "*|{PER}市长在杯赛决赛后{PRAISE}了{TEAM}。",
    ],
    (T, P): [
        "0|{PARTY}希望对{TCO}等科技公司征收新税。",
        "*|{PER}推动的隐私法对{TCO}的用户来说{ADJ}。",
        "*|{LOC}的监管部门在数据政策上{PRAISE}了{TCO}。",
        "d0|议员们就网络安全问题询问了{TCO}的{PER}。",
    ],
    (): [
        "*|{VERDICT}",
        "*|说实话，{VERDICT}",
        "*|朋友{PER}说感觉{ADJ}。",
        "*|总体来说，{ADJ}。",
        "*|{PER}对这件事感到很{EMO}。",
        "*|我的评价：{ADJ}，{RECOMMEND}。",
        "*|{LOC}的朋友们也很{EMO}。",
        "*|周末去了{NAT}。{VERDICT}",
        "+|推荐给所有人！",
        "-|不推荐，别踩坑。",
        "+|结果很满意，开心！",
        "-|我要退钱！",
        "+|简直不能更满意了。",
        "-|真的太失望了。",
        "+|今天太开心了，谢谢大家！",
        "-|一团糟。",
        "+|还不错，没有想象中差。",
        "-|根本不值这个价。",
        "d*|一句话总结：{ADJ}。",
        "d+|意外地好，惊喜！",
        "d-|再也不会了，真的。",
    ],
}

ZH_EMOJI = {"+": ["👍", "😍", "🎉", "[赞]", "[哈哈]"], "-": ["😡", "🙄", "💔", "[怒]", "[泪]"]}
ZH_HASHTAGS = {B: ["#财经#", "#股市#"], S: ["#体育#", "#足球#"], T: ["#科技#", "#数码#"],
               P: ["#时政#", "#选举#"]}

LANGS = {
    "en": {"pools": EN_POOLS, "neutral": EN_NEUTRAL, "polar": EN_POLAR, "frames": EN_FRAMES,
           "emoji": EN_EMOJI, "hashtags": EN_HASHTAGS, "sep": " "},
    "zh": {"pools": ZH_POOLS, "neutral": ZH_NEUTRAL, "polar": ZH_POLAR, "frames": ZH_FRAMES,
           "emoji": ZH_EMOJI, "hashtags": ZH_HASHTAGS, "sep": ""},
}


class Frame:
    def __init__(self, spec: str, topics: tuple[str, ...]):
        head, self.text = spec.split("|", 1)
        self.dev_only = head.startswith("d")
        self.pol = head[-1]
        self.topics = topics
        assert self.pol in "0*+-", spec


def load_frames(lang: dict) -> dict[tuple[str, ...], list[Frame]]:
    frames = {}
    for key, specs in lang["frames"].items():
        frames[key] = [Frame(spec, key) for spec in specs]
        for fr in frames[key]:
            slots = [m.group(1) for m in SLOT_RE.finditer(fr.text)]
            for slot in slots:
                known = (slot in ENTITY_KINDS or slot in ("MR", "LAST") or slot in lang["neutral"]
                         or slot in lang["polar"])
                assert known, f"unknown slot {slot} in {fr.text!r}"
            if fr.pol == "0":
                assert not any(s in lang["polar"] for s in slots), fr.text
    return frames


class Context:
    """Per-record state: which names were used (no repeats) and the last person mentioned."""

    def __init__(self, rng: random.Random, lang: dict, split: str,
                 counts: dict[str, int] | None = None):
        self.rng = rng
        self.lang = lang
        self.split = split
        self.counts = counts  # name -> uses so far in this split; steers train towards full coverage
        self.used: list[str] = []
        self.last_person: str | None = None

    def name(self, kind: str, count: bool = True) -> str:
        pools = self.lang["pools"][kind]
        use_dev = self.split == "dev" and self.rng.random() < DEV_UNSEEN_P
        pool = pools["dev"] if use_dev else pools["train"]
        options = [n for n in pool if n not in self.used] or [n for n in pools["train"] if n not in self.used]
        least = min(self.counts.get(n, 0) for n in options) if self.counts is not None else 0
        if self.counts is not None and (least < MIN_TRAIN_USES or self.rng.random() < BALANCE_P):
            options = [n for n in options if self.counts.get(n, 0) == least]
        chosen = self.rng.choice(options)
        self.used.append(chosen)
        if self.counts is not None and count:  # only full-name mentions count towards coverage
            self.counts[chosen] = self.counts.get(chosen, 0) + 1
        return chosen


def render(frame: Frame, pol: str, ctx: Context) -> list[Piece]:
    lang, rng = ctx.lang, ctx.rng
    pieces: list[Piece] = []
    pos = 0
    text = frame.text
    for m in SLOT_RE.finditer(text):
        if m.start() > pos:
            pieces.append((text[pos:m.start()], None))
        slot = m.group(1)
        if slot in ENTITY_KINDS:
            name = ctx.name(slot)
            if slot == "PER":
                ctx.last_person = name
            pieces.append((name.split("|")[0], ENTITY_KINDS[slot]))
        elif slot in ("MR", "LAST"):
            person = ctx.last_person if (slot == "LAST" and ctx.last_person) else ctx.name("PER", False)
            ctx.last_person = person
            full, gender = person.split("|")
            if slot == "MR":
                pieces.append(("Mr. " if gender == "M" else "Ms. ", None))
            pieces.append((full.split(" ")[-1], "PER"))
        elif slot in lang["polar"]:
            pieces.append((rng.choice(lang["polar"][slot][pol]), None))
        else:
            pieces.append((lang["neutral"][slot](rng), None))
        pos = m.end()
    if pos < len(text):
        pieces.append((text[pos:], None))
    # Sentence-initial cue fillers ("excellent" in "{ADJ}.") get a capital letter; same length.
    first, label = pieces[0]
    if label is None and first[:1].islower():
        pieces[0] = (first[0].upper() + first[1:], None)
    return pieces


def choose(rng: random.Random, frames: list[Frame], pol: str, split: str,
           exclude: list[Frame], allowed: str = "0*+-") -> Frame:
    ok = [f for f in frames if f.pol in ("0", "*", pol) and f.pol in allowed and f not in exclude]
    dev_only = [f for f in ok if f.dev_only]
    shared = [f for f in ok if not f.dev_only]
    if split == "dev" and dev_only and rng.random() < DEV_ONLY_FRAME_P:
        return rng.choice(dev_only)
    return rng.choice(shared)


def compose(rng: random.Random, lang: dict, frames: dict[tuple[str, ...], list[Frame]],
            split: str, pol: str, topics: list[str],
            counts: dict[str, int] | None = None) -> list[list[Piece]]:
    """Return the sentences (lists of pieces) of one record."""
    ctx = Context(rng, lang, split, counts)
    chosen: list[Frame] = []
    if len(topics) == 2 and rng.random() < 0.5:
        chosen.append(choose(rng, frames[tuple(topics)], pol, split, chosen))
    else:
        for t in topics:
            chosen.append(choose(rng, frames[(t,)], pol, split, chosen))
        rng.shuffle(chosen)
    if len(topics) == 1 and rng.random() < EXTRA_NEUTRAL_P:
        chosen.insert(rng.randint(0, 1), choose(rng, frames[(topics[0],)], pol, split, chosen, "0"))
    polar = any(f.pol != "0" for f in chosen)
    if not polar or rng.random() < EXTRA_SENTIMENT_P:
        g = choose(rng, frames[()], pol, split, chosen, "*+-")
        if rng.random() < 0.8:
            chosen.append(g)
        else:
            chosen.insert(0, g)
    sents = [render(f, pol, ctx) for f in chosen]
    if rng.random() < HASHTAG_P:
        tag = rng.choice(lang["hashtags"][rng.choice(topics)])
        if lang["sep"]:  # English: trailing hashtag
            sents[-1].append((" " + tag, None))
        else:  # Weibo style: leading topic tag
            sents[0].insert(0, (tag + " ", None))
    if rng.random() < EMOJI_P:
        sents[-1].append((lang["sep"] + rng.choice(lang["emoji"][pol]), None))
    return sents


def to_text(pieces: list[Piece], offset: int = 0) -> tuple[str, list[list]]:
    out, ents, pos = [], [], offset
    for text, label in pieces:
        if label is not None:
            ents.append([pos, pos + len(text), label])
        out.append(text)
        pos += len(text)
    return "".join(out), ents


def record_specs(rng: random.Random, n: int) -> list[tuple[str, list[str]]]:
    """Balanced (sentiment, topics): n/4 records per primary topic, half positive, 20% two topics."""
    specs = []
    per_topic = n // len(TOPICS)
    n_two = round(per_topic * TWO_TOPIC_SHARE)
    k = 0
    for t in TOPICS:
        others = [o for o in TOPICS if o != t]
        for i in range(per_topic):
            pol = "+" if i % 2 == 0 else "-"
            topics = [t]
            if i < n_two:
                topics.append(others[k % len(others)])
                k += 1
                topics.sort(key=TOPICS.index)
            specs.append((pol, topics))
    rng.shuffle(specs)
    return specs


def build(lang_code: str) -> dict[str, object]:
    lang = LANGS[lang_code]
    frames = load_frames(lang)
    seen_texts: list[str] = []
    seen = set()
    out: dict[str, object] = {}
    train_sents: list[str] = []
    for split, n in SPLIT_SIZES.items():
        rng = random.Random(f"{SEED}-{lang_code}-{split}")
        records = []
        counts: dict[str, int] | None = {} if split == "train" else None
        for i, (pol, topics) in enumerate(record_specs(rng, n), start=1):
            for _ in range(200):
                sents = compose(rng, lang, frames, split, pol, topics, counts)
                joined: list[Piece] = []
                for j, s in enumerate(sents):
                    if j:
                        joined.append((lang["sep"], None))
                    joined.extend(s)
                text, ents = to_text(joined)
                if text not in seen:
                    break
            else:
                raise RuntimeError(f"could not find a new text for {lang_code}-{split}-{i}")
            seen.add(text)
            seen_texts.append(text)
            if split == "train":
                train_sents.extend(to_text(s)[0].strip() for s in sents)
            records.append({
                "id": f"{lang_code}-{split}-{i:04d}",
                "text": text,
                "cats": {"POSITIVE": 1.0 if pol == "+" else 0.0, "NEGATIVE": 0.0 if pol == "+" else 1.0},
                "topics": topics,
                "entities": ents,
            })
        out[split] = records
    # Raw text for the vocabulary and MLM demo: train sentences plus more sentences from the same
    # frames and name pools (never dev-only frames or names, never a dev record's text).
    dev_texts = {r["text"] for r in out["dev"]}
    lines: list[str] = []
    have = set()
    for s in train_sents:
        if s not in have and s not in dev_texts:
            have.add(s)
            lines.append(s)
    rng = random.Random(f"{SEED}-{lang_code}-pretrain")
    tries = 0
    while len(lines) < PRETRAIN_LINES:
        tries += 1
        assert tries < 100_000, "pretrain generation stalled"
        pol = rng.choice("+-")
        topics = [rng.choice(TOPICS)]
        if rng.random() < TWO_TOPIC_SHARE:
            topics.append(rng.choice([t for t in TOPICS if t != topics[0]]))
            topics.sort(key=TOPICS.index)
        for s in compose(rng, lang, frames, "train", pol, topics):
            line = to_text(s)[0].strip()
            if line not in have and line not in dev_texts and len(lines) < PRETRAIN_LINES:
                have.add(line)
                lines.append(line)
    out["pretrain"] = lines
    return out


def serialise(built: dict[str, object]) -> dict[str, str]:
    files = {}
    for split in SPLIT_SIZES:
        files[f"{split}.jsonl"] = "".join(
            json.dumps(r, ensure_ascii=False) + "\n" for r in built[split])
    files["pretrain.txt"] = "".join(line + "\n" for line in built["pretrain"])
    return files


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, default=HERE, help="output directory (default: corpus/)")
    ap.add_argument("--check", action="store_true",
                    help="compare with the files on disk instead of writing; exit 1 on a difference")
    args = ap.parse_args(argv)
    status = 0
    for code in LANGS:
        files = serialise(build(code))
        for name, content in files.items():
            path = args.out / code / name
            if args.check:
                current = path.read_bytes().decode("utf-8") if path.exists() else None
                if current != content:
                    print(f"differs: {path}")
                    status = 1
            else:
                path.parent.mkdir(parents=True, exist_ok=True)
                with open(path, "w", encoding="utf-8", newline="\n") as fh:
                    fh.write(content)
                print(f"wrote {path} ({content.count(chr(10))} lines)")
    if args.check and status == 0:
        print("corpus is up to date")
    return status


if __name__ == "__main__":
    sys.exit(main())

"""A hand-written shop FAQ: the everyday FAQ-bot case that exposed keyword fusion.

Short answers as a web shop would write them, and customer questions phrased the way
customers ask: they share few words with their answer, and now and then an incidental
word ("up", "still", "order") with an unrelated one. Written for this suite, before any
fusion rule was measured on it; part of the package so the case runs without any data.
"""

from __future__ import annotations

#: answer id -> answer text
SHOP_ANSWERS: dict[str, str] = {
    "late-delivery": "If your delivery is late, wait two working days past the estimate, then "
    "contact us and we will trace it with the courier.",
    "tracking": "Every dispatched order gets a tracking link by email; open it to follow the "
    "courier.",
    "shipping-cost": "Standard shipping is free above 50 euros; below that it costs 4.95.",
    "express": "Express delivery arrives the next working day when ordered before 2 pm.",
    "international": "We ship to all EU countries and to Switzerland, Norway and the UK.",
    "returns": "You can return any item within 30 days of receipt using the prepaid label in "
    "the box.",
    "refund-time": "Refunds reach your account 5 to 10 days after the returned item arrives "
    "at our warehouse.",
    "exchange": "To swap an item for another size or colour, start a return and place a new order.",
    "cancel": "Orders can be cancelled from your account page until they are packed.",
    "change-address": "The delivery address can be edited until the parcel leaves our warehouse.",
    "damaged": "If an item arrives broken, send us a photo within 48 hours and we will replace it.",
    "wrong-item": "Received something you did not order? We will collect it and send the "
    "right product at no cost.",
    "payment-methods": "We accept Visa, Mastercard, PayPal, Apple Pay and bank transfer.",
    "payment-declined": "A declined card is usually a bank security check: call your bank or "
    "try another payment method.",
    "invoice": "Invoices are attached to the confirmation email and can be downloaded under "
    "Orders.",
    "gift-cards": "Gift cards are valid for three years and can be spent on anything in the shop.",
    "discount-code": "Enter a voucher code in the basket; only one code can be used per purchase.",
    "account-delete": "To close your account and erase your data, write to privacy@shop.example.",
    "password": "Forgot your password? Use the reset link on the sign-in page.",
    "newsletter": "Unsubscribe from marketing emails with the link at the bottom of any message.",
    "warranty": "Electronics carry a two year manufacturer warranty against defects.",
    "out-of-stock": "Sold-out products can be watched: we email you as soon as they are "
    "available again.",
    "store-hours": "Our shops open from 9 am to 8 pm, Monday to Saturday.",
    "price-match": "If you find the same product cheaper elsewhere within 14 days, we refund "
    "the difference.",
}

#: (customer question, id of the answer that resolves it)
SHOP_QUESTIONS: tuple[tuple[str, str], ...] = (
    ("my parcel still hasn't shown up", "late-delivery"),
    ("it's been a week and nothing came", "late-delivery"),
    ("where is my package right now", "tracking"),
    ("how can I see where the box is", "tracking"),
    ("do I pay extra to get my stuff sent", "shipping-cost"),
    ("is postage included", "shipping-cost"),
    ("I need it tomorrow, is that possible", "express"),
    ("can you rush my purchase", "express"),
    ("do you send things abroad", "international"),
    ("can I buy from Canada", "international"),
    ("I don't like what I bought, can I send it back", "returns"),
    ("how do I give back a jacket", "returns"),
    ("when do I get my money back", "refund-time"),
    ("I sent the shoes back, how long until I'm paid", "refund-time"),
    ("the shirt is too small, can I get a bigger one", "exchange"),
    ("I want the blue one instead of the red", "exchange"),
    ("I changed my mind about what I just bought", "cancel"),
    ("stop my purchase please", "cancel"),
    ("I moved, can the box go to my new flat", "change-address"),
    ("I typed the wrong street", "change-address"),
    ("the glass was smashed when I opened it", "damaged"),
    ("my lamp came cracked", "damaged"),
    ("you sent me somebody else's stuff", "wrong-item"),
    ("this isn't what I bought", "wrong-item"),
    ("can I use my credit card", "payment-methods"),
    ("which ways can I pay", "payment-methods"),
    ("checkout keeps refusing my card", "payment-declined"),
    ("why won't my payment go through", "payment-declined"),
    ("I need a receipt for my company", "invoice"),
    ("where do I find the bill", "invoice"),
    ("does my present voucher expire", "gift-cards"),
    ("my aunt gave me a card for your store, what can I buy with it", "gift-cards"),
    ("my promo code doesn't work", "discount-code"),
    ("can I combine two coupons", "discount-code"),
    ("remove all my personal information", "account-delete"),
    ("I want to leave your site for good", "account-delete"),
    ("I can't log in anymore", "password"),
    ("I lost my login details", "password"),
    ("stop spamming me", "newsletter"),
    ("too many promotional mails", "newsletter"),
    ("my laptop broke after a year, is it covered", "warranty"),
    ("the headphones stopped working after six months", "warranty"),
    ("the sneakers I want are gone, will they come back", "out-of-stock"),
    ("tell me when this is back", "out-of-stock"),
    ("what time do you close", "store-hours"),
    ("are you open on Sunday", "store-hours"),
    ("another website sells it for less", "price-match"),
    ("I saw it cheaper somewhere else", "price-match"),
)

"""A small shop FAQ written in five languages: each answer in English, German, French,
Spanish and Portuguese, with an English question per answer (the cross-lingual tests)."""

from __future__ import annotations

LANGUAGES = ("en", "de", "fr", "es", "pt")

#: topic -> (English question, {language: answer})
FAQ: dict[str, tuple[str, dict[str, str]]] = {
    "refund": (
        "Can I return an item and get a refund?",
        {
            "en": "Refunds: send the item back within 30 days and we repay the full price to your card.",
            "de": "Rückerstattung: Schicken Sie den Artikel innerhalb von 30 Tagen zurück, und wir erstatten den vollen Preis auf Ihre Karte.",
            "fr": "Remboursement : renvoyez l'article sous 30 jours et nous remboursons le prix total sur votre carte.",
            "es": "Reembolsos: devuelva el artículo en un plazo de 30 días y le reintegramos el precio completo en su tarjeta.",
            "pt": "Reembolsos: devolva o artigo no prazo de 30 dias e devolvemos o preço total no seu cartão.",
        },
    ),
    "shipping": (
        "How long does delivery take?",
        {
            "en": "Shipping: parcels arrive within three to five working days after dispatch.",
            "de": "Versand: Pakete kommen drei bis fünf Werktage nach dem Versand bei Ihnen an.",
            "fr": "Livraison : les colis arrivent trois à cinq jours ouvrés après l'expédition.",
            "es": "Envío: los paquetes llegan entre tres y cinco días hábiles después del despacho.",
            "pt": "Envio: as encomendas chegam entre três e cinco dias úteis após a expedição.",
        },
    ),
    "password": (
        "I forgot my password and cannot log in",
        {
            "en": "Account access: click 'Forgot password' on the sign-in page and we e-mail you a reset link.",
            "de": "Kontozugang: Klicken Sie auf der Anmeldeseite auf 'Passwort vergessen', und wir senden Ihnen einen Link zum Zurücksetzen.",
            "fr": "Accès au compte : cliquez sur « Mot de passe oublié » sur la page de connexion et nous vous envoyons un lien de réinitialisation.",
            "es": "Acceso a la cuenta: pulse 'He olvidado mi contraseña' en la página de inicio de sesión y le enviamos un enlace para restablecerla.",
            "pt": "Acesso à conta: clique em 'Esqueci a senha' na página de início de sessão e enviamos um link para a redefinir.",
        },
    ),
    "payment": (
        "Which payment methods do you accept?",
        {
            "en": "Payment: we accept credit cards, PayPal and bank transfer.",
            "de": "Zahlung: Wir akzeptieren Kreditkarten, PayPal und Banküberweisung.",
            "fr": "Paiement : nous acceptons les cartes de crédit, PayPal et le virement bancaire.",
            "es": "Pago: aceptamos tarjetas de crédito, PayPal y transferencia bancaria.",
            "pt": "Pagamento: aceitamos cartões de crédito, PayPal e transferência bancária.",
        },
    ),
    "warranty": (
        "How long is the guarantee on your appliances if one breaks?",
        {
            "en": "Warranty: every appliance is guaranteed for two years; we repair or replace a faulty one free of charge.",
            "de": "Garantie: Jedes Gerät hat zwei Jahre Garantie; ein defektes reparieren oder ersetzen wir kostenlos.",
            "fr": "Garantie : chaque appareil est garanti deux ans ; nous réparons ou remplaçons gratuitement un appareil défectueux.",
            "es": "Garantía: cada aparato tiene dos años de garantía; reparamos o sustituimos gratis uno defectuoso.",
            "pt": "Garantia: cada aparelho tem dois anos de garantia; reparamos ou substituímos gratuitamente um aparelho avariado.",
        },
    ),
    "stores": (
        "Where can I find one of your shops near me?",
        {
            "en": "Stores: our shops are open Monday to Saturday; the store finder on our website lists every address.",
            "de": "Filialen: Unsere Geschäfte haben montags bis samstags geöffnet; die Filialsuche auf unserer Website nennt jede Adresse.",
            "fr": "Magasins : nos boutiques sont ouvertes du lundi au samedi ; la recherche de magasins sur notre site indique chaque adresse.",
            "es": "Tiendas: nuestras tiendas abren de lunes a sábado; el buscador de tiendas de nuestra web indica todas las direcciones.",
            "pt": "Lojas: as nossas lojas abrem de segunda a sábado; o localizador de lojas no nosso site indica todas as moradas.",
        },
    ),
}


def documents() -> tuple[list[str], list[str], list[dict[str, str]]]:
    """(ids, texts, metadata) of every answer in every language; ids are topic/lang."""
    ids, texts, metadata = [], [], []
    for topic, (_, answers) in FAQ.items():
        for lang, text in answers.items():
            ids.append(f"{topic}/{lang}")
            texts.append(text)
            metadata.append({"topic": topic, "lang": lang})
    return ids, texts, metadata

"""Word pools for the synthetic Rakuten listings generator (see `sample.py`).

Each product type has its own core words; related types share a group pool so that
books, video games, toys, home and garden listings overlap the way the real ones do.
"""

from __future__ import annotations


def _w(text: str) -> tuple[str, ...]:
    """Split a `|`-separated pool (entries may contain spaces) into a tuple of words."""
    return tuple(w.strip() for w in text.split("|") if w.strip())


CORE: dict[int, tuple[str, ...]] = {
    10: _w(
        "poche|folio|gallimard|flammarion|usagé|annoté|jauni|reliure|isbn|ancien|dédicacé|cartonné|"
        "exemplaire|seconde main|coins frottés|essai|philosophie|histoire|biographie|mémoires|préface|"
        "traduction|littérature|classique|hachette|livre de poche|1975|1962|points|bon état d'usage"
    ),
    40: _w(
        "fifa|call of duty|zelda|mario|gta|assassin's creed|blu-ray|cd|dvd|jaquette|notice|cartouche|"
        "pegi|aventure|action|rpg|course|game|import|collector|steelbook|ps3|xbox one|3ds|gamecube|sega|"
        "mega drive|game boy|bande originale|soundtrack"
    ),
    50: _w(
        "chargeur|câble|usb|casque|micro|support|station de charge|housse|étui|protection|coque|batterie|"
        "adaptateur|volant|joystick|manette sans fil|grip|stick|bouton|ventilateur|dock|carte mémoire|kit|"
        "silicone|skin|hdmi|bluetooth|recharge|souris gaming|clavier"
    ),
    60: _w(
        "pack console|ps4 pro|slim|1 to|500 go|retro|mini|portable|écran|bundle|firmware|région|"
        "jeux intégrés|16 bits|8 bits|arcade|émulateur|rétrogaming|android|tv box|handheld|snes|nes|"
        "classic mini|wii u|ps vita|game cube|megadrive|dreamcast|saturn"
    ),
    1140: _w(
        "funko|pop|vinyl|statue|marvel|star wars|dragon ball|goku|naruto|one piece|anime|bandai|banpresto|"
        "buste|pvc|socle|hauteur|harry potter|batman|spiderman|mug|porte-clés|goodies|poster|geek|"
        "licence officielle|figuarts|nendoroid|statuette|diorama"
    ),
    1160: _w(
        "pokemon|yu-gi-oh|magic|mtg|booster|holo|rare|ultra rare|gx|vmax|dresseur|deck|display|commune|"
        "foil|vf|carte française|tcg|panini|vignettes|album|near mint|psa|série|edition 1|shiny|pv|"
        "reverse|secrète|starter"
    ),
    1180: _w(
        "warhammer|games workshop|citadel|peinture|miniatures|figurines métal|jdr|donjons et dragons|d&d|"
        "dés|escouade|armée|space marine|40k|age of sigmar|wargame|résine|scénario|livre de règles|"
        "maître du jeu|aventuriers|héros|fantasy|orc|elfe|infanterie|décor|socles|sous-couche|chaos"
    ),
    1280: _w(
        "peluche|poupée|barbie|playmobil|lego|voiture|circuit|éveil|bébé|musical|hochet|doudou|construction|"
        "briques|véhicule|garage|camion|dinosaure|dînette|déguisement|marionnette|train|vtech|"
        "fisher price|apprentissage|sonore|lumineux|piles|tracteur|pompier"
    ),
    1281: _w(
        "plateau|pions|monopoly|scrabble|puzzle|1000 pièces|uno|dobble|cluedo|stratégie|famille|ambiance|"
        "asmodee|règles|partie|coopératif|quiz|trivial pursuit|échecs|dames|jeu de cartes|extension|bluff|"
        "mémoire|tarot|belote|casse-tête|dixit|catan|jeu de plateau"
    ),
    1300: _w(
        "quadricoptère|caméra|hd|4k|fpv|télécommande|rc|radiocommandé|hélice|hélicoptère|avion|maquette|"
        "échelle|1/43|1/18|miniature|moteur|brushless|batterie lipo|gps|wifi|gimbal|dji|syma|modélisme|"
        "locomotive|wagon|ho|kit de montage|2.4ghz"
    ),
    1301: _w(
        "chaussettes|body|pyjama|grenouillère|bonnet|chaussons|bavoir|gigoteuse|3 mois|6 mois|12 mois|"
        "coton bio|babyfoot|fléchettes|cible|baby-foot|billard|tenue|ensemble|brassière|combinaison|"
        "tricot|layette|queue de billard|pointes|barboteuse|salopette|moufles|collant|cache-couche"
    ),
    1302: _w(
        "trampoline|balançoire|toboggan|portique|ballon|football|raquette|badminton|pétanque|cerf-volant|"
        "vélo|draisienne|trottinette|patins|skateboard|pistolet à eau|bac à sable|tente|plein air|filet|"
        "but|frisbee|bulles|mölkky|croquet|ping-pong|cage de foot|roller|slackline|jeu de plein air"
    ),
    1320: _w(
        "poussette|siège auto|lit parapluie|biberon|tétine|chaise haute|matelas à langer|porte-bébé|transat|"
        "babyphone|stérilisateur|isofix|nacelle|table à langer|sac à langer|couches|baignoire|thermomètre|"
        "veilleuse|tour de lit|trotteur|parc|barrière de sécurité|chauffe-biberon|écharpe de portage|"
        "mouche-bébé|réhausseur|coquille|anti-colique|allaitement"
    ),
    1560: _w(
        "table|chaise|canapé|armoire|commode|étagère|bibliothèque|buffet|bureau|meuble tv|lit|sommier|"
        "matelas|tabouret|fauteuil|console|tiroirs|portes|chêne|pin|massif|mdf|panneau|assemblage|pieds|"
        "métal|rangement|dressing|banc|vitrine"
    ),
    1920: _w(
        "housse de couette|taie d'oreiller|drap|drap housse|coussin|plaid|couverture|rideau|rideaux|nappe|"
        "serviette|torchon|peignoir|parure|140x200|240x220|percale|coton|lin|microfibre|polaire|oreiller|"
        "couette|housse|tapis de bain|linge|motif|imprimé|lavable|45x45"
    ),
    1940: _w(
        "chocolat|café|thé|bonbons|biscuits|confiserie|capsules|dosettes|épices|miel|huile d'olive|"
        "vinaigre|sauce|pâtes|riz|farine|sucre|confiture|infusion|gâteau|nespresso|dolce gusto|"
        "sans gluten|vegan|saveur|arôme|gourmand|fruits secs|sirop|grains"
    ),
    2060: _w(
        "cadre|miroir|vase|bougie|photophore|horloge|pendule|sticker mural|tableau|toile|affiche|guirlande|"
        "lampe|abat-jour|suspension|luminaire|bougeoir|fleurs artificielles|déco|murale|sapin|lanterne|"
        "applique|ampoule|cadre photo|boule|coussin décoratif|attrape-rêves|trophée|stickers"
    ),
    2220: _w(
        "chien|chat|croquettes|litière|collier|laisse|harnais|niche|panier|griffoir|arbre à chat|gamelle|"
        "aquarium|poisson|oiseau|cage|rongeur|lapin|jouet pour chien|antiparasitaire|shampoing|brosse|"
        "toilettage|friandises|pâtée|chiot|chaton|terrarium|hamster|clapier"
    ),
    2280: _w(
        "numéro|journal|hebdomadaire|mensuel|paris match|le monde|figaro|abonnement|supplément|"
        "édition spéciale|la une|presse|quotidien|l'équipe|télérama|n°|mars|avril|1968|1982|actualité|"
        "reportage|dossier|interview|historia|science et vie|géo|spécial|france dimanche|jours de france"
    ),
    2403: _w(
        "lots|bd|bande dessinée|albums|série complète|tomes|asterix|tintin|spirou|manga|one piece manga|"
        "intégrale|volumes|lot de 10|mangas|dargaud|dupuis|casterman|glénat|comics|strips|planches|"
        "lucky luke|gaston|schtroumpfs|lot de 20|romans lot|vrac|kana|pika"
    ),
    2462: _w(
        "lot de jeux|occasion|testés|fonctionnels|jeux ps2|lot de 5|sans notice|boîtiers|pack|"
        "jeux complets|rayures|cd seul|loose|reconditionné|vendu en l'état|lot console|ps1|lot ps3|"
        "jeux xbox 360|lot wii|lot ds|lot gameboy|pal fr|testé fonctionnel|lot de 3|lot de 8|"
        "jeux en vrac|boîte abîmée|occasions|assortiment"
    ),
    2522: _w(
        "stylo|cahier|carnet|agenda|classeur|feutres|crayons|gomme|règle|trousse|papier|enveloppes|ramette|"
        "a4|a5|bloc-notes|post-it|agrafeuse|surligneur|encre|cartouche d'encre|calendrier|étiquettes|"
        "carte de voeux|marqueur|pochette|pinceaux|scolaire|fournitures|perforatrice"
    ),
    2582: _w(
        "salon de jardin|chaise de jardin|bain de soleil|parasol|tonnelle|pergola|hamac|table de jardin|"
        "aluminium|teck|rotin|tressé|terrasse|balcon|coussins|fauteuil de jardin|pliant|empilable|"
        "barbecue|plancha|abri|voile d'ombrage|store|auvent|brasero|transat|bain soleil|banc de jardin|"
        "mange-debout|chilienne"
    ),
    2583: _w(
        "piscine|spa|filtre|pompe|filtration|chlore|skimmer|bâche|liner|robot|aspirateur|gonflable|hors-sol|"
        "tubulaire|intex|bestway|échelle piscine|ph|traitement|galets|jacuzzi|chauffage|pompe à chaleur|"
        "cartouche filtrante|sable|nettoyage|m3|bassin|volet|hivernage"
    ),
    2585: _w(
        "tondeuse|débroussailleuse|taille-haie|tronçonneuse|sécateur|râteau|pelle|bêche|arrosage|tuyau|"
        "arrosoir|pulvérisateur|souffleur|motobineuse|scarificateur|broyeur|serre|brouette|gazon|lame|"
        "fil|moteur thermique|sans fil|batterie 18v|volts|coupe|outils|jardinage|karcher|haute pression"
    ),
    2705: _w(
        "nouveauté|parution|grand format|isbn 978|éditions|prix littéraire|goncourt|thriller|polar|"
        "best-seller|coffret|guide|cuisine|développement personnel|jeunesse|recettes|méthode|apprendre|"
        "manuel|bac|roman graphique|dictionnaire|larousse|atlas|nathan|albin michel|broché neuf|"
        "livre neuf|autobiographie|témoignage"
    ),
    2905: _w(
        "code|clé|activation|dématérialisé|windows|origin|uplay|digital|licence|clé cd|envoi par email|"
        "immédiat|compte|dlc|season pass|battle.net|epic games|ubisoft|global|region free|simulation|"
        "mmorpg|download|key|code de téléchargement|clé steam|gog|windows 10|mac|livraison email"
    ),
}

# Words shared by related product types, and which groups each type draws from.
GROUPS: dict[str, tuple[str, ...]] = {
    "books": _w(
        "livre|livres|roman|édition|tome|lot|magazine|revue|auteur|lecture|pages|collection|illustré|"
        "couverture|broché|français|volume|texte|récit|chapitre|éditeur|ouvrage|format"
    ),
    "games": _w(
        "jeu|jeux|console|ps4|xbox|nintendo|manette|pc|téléchargement|playstation|vidéo|gamer|joueur|"
        "édition|version|pal|fr|multijoueur|sony|microsoft|switch|wii|ds|steam|gaming"
    ),
    "toys": _w(
        "figurine|figurines|jouet|jouets|carte|cartes|jeu de société|drone|enfant|enfants|jeu|ans|cadeau|"
        "noël|collection|âge|plastique|joueurs|boîte|pièces|mini|jeux|collectionner"
    ),
    "baby": _w(
        "bébé|naissance|mois|enfant|doux|coton|nourrisson|maternité|fille|garçon|taille|confort|sécurité|"
        "lavable|léger|tissu"
    ),
    "home": _w(
        "maison|intérieur|salon|chambre|décoration|bois|design|moderne|style|dimensions|cm|tissu|meuble|"
        "pièce|scandinave|vintage|industriel|cuisine|salle de bain|mur|pieds|blanc|gris"
    ),
    "garden": _w(
        "jardin|extérieur|été|eau|résistant|pvc|mètres|litres|puissance|w|entretien|installation|"
        "aluminium|acier|terrasse|pelouse|uv|imperméable|soleil"
    ),
    "misc": _w(
        "sachet|paquet|kg|g|pack|lot de|bio|naturel|boîte|goût|format|recharge|unités|pochette|"
        "contenance|sac|pratique|quotidien|accessoire"
    ),
}

CLASS_GROUPS: dict[int, tuple[str, ...]] = {
    **{c: ("books",) for c in (10, 2280, 2403, 2705)},
    **{c: ("games",) for c in (40, 50, 60, 2462, 2905)},
    **{c: ("toys",) for c in (1140, 1160, 1180, 1281, 1300, 1302)},
    1280: ("toys", "baby"),
    1301: ("baby", "toys"),
    1320: ("baby",),
    **{c: ("home",) for c in (1560, 1920, 2060)},
    2582: ("home", "garden"),
    **{c: ("garden",) for c in (2583, 2585)},
    **{c: ("misc",) for c in (1940, 2220, 2522)},
}

FILLER: tuple[str, ...] = _w(
    "neuf|livraison rapide|livraison gratuite|qualité|haute qualité|original|authentique|garantie|pas cher|"
    "promo|offre|idéal|parfait|cadeau|prix|top|excellent|état|très bon état|envoi soigné|expédié sous 24h|"
    "stock|disponible|france|vendeur pro|satisfait ou remboursé|nouveau|2019|2018|2017|modèle|taille|couleur|"
    "dimensions|poids|matière|caractéristiques|description|contenu|le|la|les|de|des|du|et|pour|avec|en|un|"
    "une|sur|dans|à|au|par|très|plus|votre|vous|nous|ce|cette|est|son|sa|ses|qui|il|elle|facile|pratique|"
    "utiliser|produit|article|emballage|inclus|comprend|x|1|2|3|4|5|10|12|20|50|100|&amp;|-|:|/|+|"
    "comme neuf|jamais servi|d'origine|fabriqué en|livré avec|compatible|pour tous|marque|type|référence"
)

ATTRIBUTES: tuple[str, ...] = _w(
    "noir|blanc|rouge|bleu|vert|jaune|rose|gris|beige|marron|violet|orange|doré|argenté|multicolore|"
    "bleu marine|taille s|taille m|taille l|xl|xxl|30 cm|40x60 cm|1,5 m|500 ml|2 l|10 kg|25 cm|12 pièces|"
    "lot de 2|lot de 4|set de 6|ø 30 cm|100% coton|inox|acier|plastique abs|bois massif|verre|cuir|"
    "generic|sans marque|xiaomi|samsung|philips|bosch|disney|ikea|décathlon|hasbro|mattel|clementoni|"
    "ravensburger|sony|lexibook|smoby|hama|tefal|moulinex"
)

FOREIGN: tuple[str, ...] = _w(
    "new|with|for|kids|set|free shipping|high quality|mit|für|und|neu|kinder|spielzeug|garten|buch|the|"
    "and|of|size|color|black|white|edition|toy|gift|outdoor|home|brand new|stück|farbe"
)

# Stray markup inserted into HTML descriptions ("<br />" twice: it is the most frequent tag).
HTML_TOKENS: tuple[str, ...] = ("<br />", "</p><p>", "<br>", "&nbsp;", "<b>", "</b>", "<br />")

# Vocabulary that only ever appears in drift batches: new product lines and brands.
DRIFT_CORE: dict[int, tuple[str, ...]] = {
    10: _w("autoédité|lulu-press|feuilleton-numérique"),
    40: _w("ps5|xbox-series|elden-ring|switch-oled|hogwarts-legacy"),
    50: _w("dualsense|steamdeck-dock|ps5-stand|quest3-strap|elite-series2"),
    60: _w("ps5|steamdeck|switch-oled|xbox-series|analogue-pocket"),
    1140: _w("hololive|stranger-things|squid-game|demon-slayer|chainsaw-man"),
    1160: _w("lorcana|flesh-and-blood|one-piece-tcg|digimon-tcg|écarlate-violet"),
    1300: _w("dji-mini4|avata2|fpv-goggles3|betafpv|speedybee"),
    1302: _w("padel|pickleball|spikeball|trottinette-électrique|hoverboard-x2"),
    1560: _w("bureau-assis-debout|meuble-gaming|japandi|boucle-fabric"),
    1940: _w("kombucha|matcha-latte|protéine-vegan|hydromel-craft|bubble-tea"),
    2060: _w("japandi|bouclette-déco|led-neon|néon-led-usb|wabi-sabi"),
    2220: _w("gps-collier-chat|croquettes-insectes|fontaine-smart|litière-autonettoyante"),
    2583: _w("robot-sans-fil|spa-nordique|ozonateur|électrolyseur-sel|pompe-inverter"),
    2585: _w("tondeuse-robot|ego-power|batterie-56v|greenworks-60v|taille-haie-télescopique"),
    2905: _w("game-pass|xbox-series|ps-plus-extra|elden-ring|hogwarts-legacy"),
}
DRIFT_GENERIC: tuple[str, ...] = _w(
    "écoconçu|zéro-déchet|upcyclé|tiktok-viral|édition-2025|collab-2025|made-in-europe-2025|recyclé-2025"
)
# Classes that become much more frequent in drift batches (multiplier on their prior).
DRIFT_BOOST: dict[int, float] = {2905: 8.0, 60: 8.0, 1940: 6.0, 2220: 5.0, 1302: 4.0, 1300: 3.0}

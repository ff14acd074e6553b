package mapping

import (
	"strings"
	"unicode"

	"golang.org/x/text/runes"
	"golang.org/x/text/transform"
	"golang.org/x/text/unicode/norm"
)

// synonyms maps a normalized header (see normalizeHeader) to a target.
// Several languages: English, French, German, Spanish, Italian, Portuguese,
// Dutch.
var synonyms = buildSynonyms(map[string][]string{
	"email": {"e-mail 1", "email address 1", "email", "e-mail", "email address", "e-mail address", "mail", "email1", "primary email",
		"work email", "business email", "courriel", "adresse e-mail", "adresse email", "e-mail-adresse",
		"correo", "correo electronico", "email adres", "e-mailadres", "posta elettronica", "indirizzo email",
		"endereco de email"},
	"first_name": {"given", "first name", "firstname", "first", "given name", "forename", "fname", "prenom",
		"vorname", "nombre", "nome", "primeiro nome", "voornaam"},
	"last_name": {"family", "last name", "lastname", "last", "surname", "family name", "lname", "nom", "nom de famille",
		"nachname", "familienname", "apellido", "apellidos", "cognome", "sobrenome", "achternaam"},
	"full_name": {"name", "full name", "fullname", "contact name", "contact", "nom complet", "vollstandiger name",
		"nombre completo", "nome completo", "naam"},
	"phone": {"sms", "phone 1", "landline", "landline number", "mobile phone number", "cellphone", "phone", "phone number", "telephone", "telephone number", "tel", "mobile", "mobile phone",
		"mobile number", "cell", "cell phone", "work phone", "business phone", "primary phone", "telefon",
		"telefonnummer", "handy", "mobil", "telefono", "movil", "celular", "cellulare", "telefone", "portable",
		"numero de telephone", "telefoonnummer", "mobiel"},
	"company": {"organization name", "organisation name", "organization 1", "company 1", "company", "company name", "organization", "organisation", "org", "account", "account name",
		"employer", "business", "firma", "unternehmen", "societe", "entreprise", "empresa", "azienda",
		"bedrijf", "organizacion"},
	"job_title": {"organization title", "organisation title", "job position", "job title", "title", "position", "role", "job", "poste", "fonction", "titre",
		"berufsbezeichnung", "position im unternehmen", "cargo", "puesto", "ruolo", "functie"},
	"website": {"website url", "web page", "webpage", "website 1", "linkedin url", "website", "web site", "web", "url", "homepage", "site", "site web", "webseite", "sitio web",
		"pagina web", "sito web", "company website"},
	"street": {"street 1", "address line1", "street line 1", "street", "street address", "address", "address 1", "address line 1", "address1", "rue",
		"adresse", "strasse", "straße", "calle", "direccion", "indirizzo", "via", "endereco", "straat", "adres"},
	"city": {"city", "town", "ville", "stadt", "ort", "ciudad", "citta", "cidade", "localidad", "plaats", "woonplaats"},
	"region": {"state/region", "state region", "province code", "state code", "region code", "region", "state", "province", "county", "state/province", "state province", "bundesland",
		"provincia", "estado", "provincie", "departement"},
	"postal_code": {"zip/postal code", "zip postal code", "postal zip", "postal", "postal code", "postcode", "post code", "zip", "zip code", "zipcode", "plz", "postleitzahl",
		"code postal", "codigo postal", "cap", "cep", "postcode nl"},
	"country": {"country code", "country/region code", "country", "country/region", "country region", "pays", "land", "pais", "paese", "nation"},
	"tags":    {"categories", "category", "group membership", "groups", "lists", "tags", "tag", "labels", "label", "etiquettes", "schlagworte", "etiquetas", "etichette"},
})

func buildSynonyms(by map[string][]string) map[string]string {
	out := make(map[string]string)
	for target, names := range by {
		for _, n := range names {
			out[normalizeHeader(n)] = target
		}
	}
	return out
}

// normalizeHeader folds case, accents and punctuation: "E-mail Address",
// "email_address" and "EmailAddress" all become "emailaddress".
func normalizeHeader(s string) string {
	t := transform.Chain(norm.NFD, runes.Remove(runes.In(unicode.Mn)), norm.NFC)
	folded, _, err := transform.String(t, strings.ToLower(s))
	if err != nil {
		folded = strings.ToLower(s)
	}
	var b strings.Builder
	for _, r := range folded {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			b.WriteRune(r)
		}
	}
	return b.String()
}

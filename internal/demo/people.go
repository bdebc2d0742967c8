package demo

import (
	"fmt"
	"math/rand/v2"
	"strings"
)

// Plausible donors: names, addresses and amounts drawn from small lists, so
// the queues look like a real food bank's and a real theatre's.

var firstNames = []string{"Olivia", "Liam", "Emma", "Noah", "Ava", "Elijah", "Sophia", "James", "Isabella", "Lucas",
	"Mia", "Mateo", "Amelia", "Benjamin", "Harper", "Henry", "Evelyn", "Theo", "Aaliyah", "Samuel", "Priya", "Wei",
	"Fatima", "Diego", "Chloe", "Kenji", "Grace", "Omar", "Nora", "Jamal", "Ines", "Tomás", "Hannah", "Ravi"}

var lastNames = []string{"Smith", "Johnson", "Garcia", "Brown", "Nguyen", "Martinez", "Lee", "Patel", "Okafor", "Kim",
	"Hernandez", "Walker", "Young", "Allen", "Wright", "Lopez", "Hill", "Scott", "Green", "Adams", "Baker", "Chen",
	"Rossi", "O'Brien", "Müller", "Singh", "Haddad", "Novak", "Ibrahim", "Ramos", "Bennett", "Reyes", "Kowalski"}

var streets = []string{"Maple Ave", "Oak St", "Pine Rd", "Cedar Ln", "Elm St", "Washington Blvd", "Lakeview Dr", "Park Pl",
	"Sunset Ave", "River Rd", "Highland Ave", "Church St"}

var cities = [][2]string{{"Portland", "OR"}, {"Columbus", "OH"}, {"Austin", "TX"}, {"Madison", "WI"}, {"Raleigh", "NC"},
	{"Boise", "ID"}, {"Denver", "CO"}, {"Tucson", "AZ"}, {"Richmond", "VA"}, {"Omaha", "NE"}}

var shows = []string{"Hamlet", "A Midsummer Night's Dream", "The Glass Menagerie", "Our Town", "Into the Woods", "Fences"}

type person struct {
	First, Last, Email, Phone string
	Address1, City, State     string
	Postal                    string
}

func newPerson(r *rand.Rand, badEmail bool) person {
	p := person{First: firstNames[r.IntN(len(firstNames))], Last: lastNames[r.IntN(len(lastNames))]}
	domain := []string{"gmail.com", "yahoo.com", "outlook.com", "icloud.com", "proton.me"}[r.IntN(5)]
	if badEmail {
		domain = "example.invalid" // the simulated Virtuous rejects these: failed records
	}
	local := strings.ToLower(strings.NewReplacer("'", "", "ü", "u", "á", "a", "é", "e").Replace(p.First + "." + p.Last))
	p.Email = fmt.Sprintf("%s%d@%s", local, r.IntN(90)+10, domain)
	p.Phone = fmt.Sprintf("(%03d) 555-%04d", 200+r.IntN(700), r.IntN(10000))
	c := cities[r.IntN(len(cities))]
	p.Address1 = fmt.Sprintf("%d %s", 10+r.IntN(9000), streets[r.IntN(len(streets))])
	p.City, p.State, p.Postal = c[0], c[1], fmt.Sprintf("%05d", 10000+r.IntN(89999))
	return p
}

const alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// stripeID makes a Stripe-shaped id: pi_ (PaymentIntent) mostly, ch_ (legacy Charge) sometimes.
func stripeID(r *rand.Rand) string {
	prefix := "pi_"
	if r.IntN(6) == 0 {
		prefix = "ch_"
	}
	b := make([]byte, 24)
	for i := range b {
		b[i] = alnum[r.IntN(len(alnum))]
	}
	return prefix + string(b)
}

// eventbriteOrder makes a 10-digit order id.
func eventbriteOrder(r *rand.Rand) string {
	return fmt.Sprintf("%d", 4_000_000_000+r.Int64N(5_000_000_000))
}

// donation is an amount in cents: mostly $10–$250, now and then a major gift.
func donation(r *rand.Rand) int64 {
	switch n := r.IntN(100); {
	case n < 70:
		return int64([]int{10, 15, 20, 25, 35, 50, 75, 100}[r.IntN(8)]) * 100
	case n < 95:
		return int64(100+r.IntN(150)) * 100
	default:
		return int64([]int{500, 1000, 2500}[r.IntN(3)]) * 100
	}
}

// tickets is an order total in cents: 1–4 seats at $25–$95.
func tickets(r *rand.Rand) int64 {
	return int64((1+r.IntN(4))*(25+5*r.IntN(15))) * 100
}

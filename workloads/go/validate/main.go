// Command validate is the validate workload (workloads/ABI.md): it checks
// an order against fixed rules, in a fixed order, and answers with its
// total. Pure.
package main

import (
	"errors"
	"strings"

	"blueprint-bench/workloads/go/guest"
	"blueprint-bench/workloads/go/jsonsub"
)

func init() { guest.Handle("validate", validate) }

const (
	maxQuantity  = 1000
	maxUnitPrice = 1_000_000
	maxTotal     = 10_000_000
)

func validate(input []byte) ([]byte, error) {
	order, err := jsonsub.Parse(input)
	if err != nil {
		return nil, err
	}
	if err := jsonsub.UnknownField(order, "id", "customer", "quantity", "unit_price", "currency", "express"); err != nil {
		return nil, err
	}
	id, ok := order.Get("id")
	if !ok {
		return nil, errors.New("id is required")
	}
	if id.Kind != jsonsub.String || !isID(id.Str) {
		return nil, errors.New("id must be 1 to 32 characters from A-Z a-z 0-9 - _")
	}
	customer, ok := order.Get("customer")
	if !ok {
		return nil, errors.New("customer is required")
	}
	if customer.Kind != jsonsub.String || !isEmail(customer.Str) {
		return nil, errors.New("customer must be an email address")
	}
	quantity, ok := order.Get("quantity")
	if !ok {
		return nil, errors.New("quantity is required")
	}
	if quantity.Kind != jsonsub.Int || quantity.Int < 1 || quantity.Int > maxQuantity {
		return nil, errors.New("quantity must be an integer from 1 to 1000")
	}
	price, ok := order.Get("unit_price")
	if !ok {
		return nil, errors.New("unit_price is required")
	}
	if price.Kind != jsonsub.Int || price.Int < 0 || price.Int > maxUnitPrice {
		return nil, errors.New("unit_price must be an integer from 0 to 1000000")
	}
	currency, ok := order.Get("currency")
	if !ok {
		return nil, errors.New("currency is required")
	}
	if currency.Kind != jsonsub.String || currency.Str != "EUR" && currency.Str != "USD" && currency.Str != "GBP" {
		return nil, errors.New("currency must be one of EUR, USD, GBP")
	}
	if express, ok := order.Get("express"); ok && express.Kind != jsonsub.True && express.Kind != jsonsub.False {
		return nil, errors.New("express must be a boolean")
	}
	total := quantity.Int * price.Int // at most 1000 * 1000000: no overflow
	if total > maxTotal {
		return nil, errors.New("order total must be at most 10000000")
	}
	return jsonsub.AppendObject(nil, jsonsub.Object{
		{Key: "valid", Value: jsonsub.Value{Kind: jsonsub.True}},
		{Key: "id", Value: id},
		{Key: "total", Value: jsonsub.Value{Kind: jsonsub.Int, Int: total}},
	}), nil
}

// isID: 1 to 32 bytes of A-Z a-z 0-9 - _.
func isID(s string) bool {
	if len(s) < 1 || len(s) > 32 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// isEmail: at most 254 bytes, none of U+0000 to U+0020, exactly one '@'
// with at least one byte before it, and after it a domain that contains a
// '.' and neither starts nor ends with one.
func isEmail(s string) bool {
	if len(s) > 254 || strings.Count(s, "@") != 1 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= 0x20 {
			return false
		}
	}
	local, domain, _ := strings.Cut(s, "@")
	return len(local) > 0 && strings.Contains(domain, ".") &&
		!strings.HasPrefix(domain, ".") && !strings.HasSuffix(domain, ".")
}

// main runs only in the command flavour (guest.Main); a reactor only runs
// init.
func main() { guest.Main() }

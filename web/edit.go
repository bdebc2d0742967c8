package web

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"backstop/internal/derrors"
	"backstop/internal/record"
	"backstop/internal/review"
	"backstop/views"
)

// editPage is GET /t/:tenant/records/:id/edit: the fixable fields of a
// failed record.
func (s *Server) editPage(c echo.Context) error {
	r, err := s.recordOf(c)
	if err != nil {
		return err
	}
	if r.Status != record.Failed {
		s.flash(c, "info", "Only a failed record can be edited here; this one is "+strings.ToLower(views.StatusLabel(string(r.Status)))+".")
		return seeOther(c, recordURL(tenantOf(c), r.ID))
	}
	f, err := review.FormOf(r)
	if err != nil {
		return err
	}
	return s.renderEdit(c, http.StatusOK, r, f, nil, "")
}

func (s *Server) renderEdit(c echo.Context, status int, r *record.Record, f review.EditForm, errs map[string]string, msg string) error {
	t := tenantOf(c)
	p := views.EditProps{
		Action: recordURL(t, r.ID) + "/edit", RecordURL: recordURL(t, r.ID), Version: r.Version, Donor: r.DonorName,
		LastError: r.LastError, Gift: r.Kind == record.Gift, Errors: errs, Error: msg,
		Fields: views.EditFields{Email: f.Email, FirstName: f.FirstName, LastName: f.LastName,
			Address1: f.Address.Address1, Address2: f.Address.Address2, City: f.Address.City, State: f.Address.State,
			Postal: f.Address.Postal, Country: f.Address.Country, Amount: f.Amount},
	}
	for _, d := range f.Designations {
		p.Fields.Designations = append(p.Fields.Designations, views.EditDesignation{Code: d.Code, Amount: d.Amount})
	}
	return render(c, status, views.EditPage(s.chrome(c, "Edit and retry · "+recordTitle(r), "queues"), p))
}

// edit is POST /t/:tenant/records/:id/edit. A field Virtuous or Backstop
// would refuse comes back on the form with its message, and nothing is
// written; a good edit resubmits the record.
func (s *Server) edit(c echo.Context) error {
	t := tenantOf(c)
	r, err := s.recordOf(c)
	if err != nil {
		return err
	}
	old, err := review.FormOf(r)
	if err != nil {
		return err
	}
	if msg := checkEditFields(c.Request().PostForm, editFields(r, old)); msg != "" {
		return s.renderEdit(c, http.StatusBadRequest, r, old, nil, "Nothing was saved: "+msg)
	}
	f := review.EditForm{
		Email: c.FormValue("email"), FirstName: c.FormValue("first_name"), LastName: c.FormValue("last_name"),
		Address: record.Address{Address1: c.FormValue("address1"), Address2: c.FormValue("address2"), City: c.FormValue("city"),
			State: c.FormValue("state"), Postal: c.FormValue("postal"), Country: c.FormValue("country")},
		Amount: old.Amount,
	}
	for i := 0; i < max(len(old.Designations), 1); i++ {
		code := c.FormValue("designation." + strconv.Itoa(i))
		amount := ""
		if i < len(old.Designations) {
			amount = old.Designations[i].Amount
		} else if code == "" {
			break
		}
		f.Designations = append(f.Designations, review.DesignationEdit{Code: code, Amount: amount})
	}
	version, err := formVersion(c)
	if err != nil {
		msg, _ := review.Describe(err)
		return s.renderEdit(c, http.StatusBadRequest, r, f, nil, "Nothing was saved: "+msg+".")
	}
	err = s.deps.Review.EditAndRetry(c.Request().Context(), t, r.ID, version, f, actor(c))
	var fe *derrors.FieldError
	if errors.As(err, &fe) {
		if field := formField(fe.Field); field != "" {
			return s.renderEdit(c, http.StatusBadRequest, r, f, map[string]string{field: fe.Msg}, "Nothing was saved: fix the field marked below.")
		}
		return s.renderEdit(c, http.StatusBadRequest, r, f, nil, "Nothing was saved: "+fe.Msg+".")
	}
	return s.done(c, recordURL(t, r.ID), err, "Saved and sent again: "+recordTitle(r)+" is pending and will be submitted in a moment.")
}

// editFields are the fields the edit form of r has (besides _csrf and
// version): the donor's, and a gift's project codes.
func editFields(r *record.Record, old review.EditForm) []string {
	names := []string{"first_name", "last_name", "email", "address1", "address2", "city", "state", "postal", "country"}
	if r.Kind == record.Gift {
		for i := range max(len(old.Designations), 1) {
			names = append(names, "designation."+strconv.Itoa(i))
		}
	}
	return names
}

// checkEditFields refuses a form that is not the edit form: a field it
// lacks would be read as emptied, and a field it does not have (an
// amount, a designation the gift does not have) would be silently
// ignored, so either is said instead.
func checkEditFields(form url.Values, names []string) string {
	var missing []string
	for _, n := range names {
		if _, ok := form[n]; !ok {
			missing = append(missing, n)
		}
	}
	for k := range form {
		if k != csrfField && k != "version" && !slices.Contains(names, k) {
			return fmt.Sprintf("the form has a field this page does not edit (%s); amounts, dates and references are the platform's. Reload the page and try again.", k)
		}
	}
	if len(missing) > 0 {
		return "the form is missing " + strings.Join(missing, ", ") + "; reload the page and try again."
	}
	return ""
}

// formField is the form field an intake validation error is about.
func formField(intakeField string) string {
	switch {
	case strings.HasSuffix(intakeField, ".email"):
		return "email"
	case strings.Contains(intakeField, "designations"), intakeField == "designations":
		return "designation.0"
	case strings.HasSuffix(intakeField, "firstname"), strings.HasSuffix(intakeField, "firstName"):
		return "first_name"
	case strings.HasSuffix(intakeField, "lastname"), strings.HasSuffix(intakeField, "lastName"):
		return "last_name"
	}
	return ""
}

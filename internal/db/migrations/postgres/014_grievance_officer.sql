-- Mipui Aw, officers: why a grievance was closed without action. The codes
-- follow what CPGRAMS does not take up; "not our department" is not one of
-- them (a misrouted grievance is transferred, never closed).
ALTER TABLE grv_grievances ADD COLUMN reject_reason TEXT NOT NULL DEFAULT '' CHECK (reject_reason IN ('', 'sub_judice',
	'personal_dispute', 'rti_matter', 'religious_matter', 'suggestion', 'service_matter', 'no_action_possible', 'insufficient_info'));
